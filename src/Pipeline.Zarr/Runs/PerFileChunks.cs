using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;

namespace Pipeline.Zarr.Runs;

/// <summary>
/// Where a conversion may take a field's encoded chunks from instead of decoding the field (see
/// <see cref="ConversionOptions.ChunkSource"/>). A source that cannot supply a field answers null and the field is
/// decoded as usual, so a source only ever makes a conversion faster, never different.
/// </summary>
public interface IFieldChunkSource
{
    /// <summary>Called once, before any field, with every field of the conversion and how the target is encoded.</summary>
    void Prepare(IReadOnlyList<GribFieldRecord> records, ZarrFormat format, CodecPipeline codecs, int maxChunkBytes);

    /// <summary>
    /// Puts the field's chunks of <paramref name="target"/> at <paramref name="leadingIndex"/> in place; returns their
    /// keys (relative to the target store), or null when it cannot (then the field is decoded).
    /// </summary>
    Task<IReadOnlyList<string>?> TryCopyAsync(GribFieldRecord field, ZarrArray target, long[] leadingIndex, CancellationToken cancellationToken);
}

/// <summary>
/// The chunks of a model run's Zarr taken from the per-file Zarrs the ingest graph wrote as each file arrived
/// (<c>files/NAME.zarr</c> beside <c>run.zarr</c> in one store): a field is one chunk (or one row of tiles) per
/// step in both, with the same grid chunking and codecs, so its encoded bytes are the same and only the key differs
/// (the run's leading indices instead of the file's). Each copy is a store-side copy (<see cref="IObjectStore.CopyAsync"/>).
/// A field is copied only when the per-file Zarr's consolidated metadata says its array has exactly the target's
/// dtype, fill value, codecs and grid chunking, and the file's own plan put this very field (not a repeated one)
/// there; anything else (no per-file Zarr, another format, a missing chunk) answers null and the field is decoded.
/// A file may name several places its chunks may be (a full per-file Zarr, a staging area written with
/// <see cref="ConversionOptions.Staging"/>: the same keys, only the consolidated metadata and the data chunks): the
/// first whose consolidated metadata exists is used. Thread-safe.
/// </summary>
public sealed class PerFileChunks(IObjectStore root, string runPrefix, IReadOnlyDictionary<string, IReadOnlyList<string>> fileZarrPrefixes) : IFieldChunkSource
{
    /// <summary>One place per file.</summary>
    public PerFileChunks(IObjectStore root, string runPrefix, IReadOnlyDictionary<string, string> fileZarrPrefixes)
        : this(root, runPrefix, fileZarrPrefixes.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)[kv.Value], StringComparer.Ordinal))
    {
    }

    private readonly ConcurrentDictionary<string, Lazy<Task<(string Prefix, JsonObject Metadata)?>>> _metadata = new(StringComparer.Ordinal);
    private Dictionary<(string File, int Message, int Index), (Hypercube Cube, string Variable, long[] Indices)> _where = [];
    private ZarrFormat _format;
    private long _copied, _declined;

    /// <summary>Fields whose chunks were copied.</summary>
    public long Copied => Interlocked.Read(ref _copied);

    /// <summary>Fields that had to be decoded.</summary>
    public long Declined => Interlocked.Read(ref _declined);

    public void Prepare(IReadOnlyList<GribFieldRecord> records, ZarrFormat format, CodecPipeline codecs, int maxChunkBytes)
    {
        _format = format;
        var where = new Dictionary<(string, int, int), (Hypercube, string, long[])>();
        foreach (var file in records.GroupBy(r => r.File, StringComparer.Ordinal))
        {
            if (!fileZarrPrefixes.ContainsKey(file.Key)) continue;
            // The file's own plan, as the per-file conversion made it (coordinates are not needed: not computed).
            var (cubes, _) = CfgribMapping.PlanDeferred([.. file], codecs, maxChunkBytes);
            foreach (var cube in cubes)
            {
                var dataset = new RunDataset(new ZarrWriter(root, format), cube.Layout);
                foreach (var f in cube.Fields)
                    where[(f.File, f.MessageNumber, f.Field.IndexInMessage)] = (cube, f.Variable, dataset.IndicesOf(f.Variable, cube.AxisValues(f)));
            }
        }
        _where = where;
    }

    public async Task<IReadOnlyList<string>?> TryCopyAsync(GribFieldRecord field, ZarrArray target, long[] leadingIndex, CancellationToken cancellationToken)
    {
        var keys = await CopyAsync(field, target, leadingIndex, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref keys is null ? ref _declined : ref _copied);
        return keys;
    }

    private async Task<IReadOnlyList<string>?> CopyAsync(GribFieldRecord field, ZarrArray target, long[] leadingIndex, CancellationToken cancellationToken)
    {
        if (!fileZarrPrefixes.TryGetValue(field.File, out var candidates)) return null;
        if (!_where.TryGetValue((field.File, field.MessageNumber, field.Field.IndexInMessage), out var at)) return null;
        var found = await _metadata.GetOrAdd(field.File, _ => new Lazy<Task<(string, JsonObject)?>>(() => FindMetadataAsync(candidates, cancellationToken))).Value
            .ConfigureAwait(false);
        if (found is not { } hit) return null;
        var (filePrefix, metadata) = hit;
        var path = (at.Cube.Group.Length == 0 ? "" : at.Cube.Group + "/") + at.Variable;
        if (Stored(metadata, path) is not { } stored) return null;
        var gridRank = target.Rank - leadingIndex.Length;
        if (gridRank is < 0 or > 2 || Signature(stored, gridRank) != Signature(Normalized(target), gridRank)) return null;
        if (Leading(stored, "shape", "shape") is not { } shape || shape.Length != at.Indices.Length + gridRank) return null;
        if (Leading(stored, "chunks", "chunk_shape") is not { } chunks || chunks.Take(at.Indices.Length).Any(c => c != 1)) return null;
        var source = new ZarrArray(path, target.DataType, [.. at.Indices.Select(i => i + 1), .. target.Shape[leadingIndex.Length..]],
            [.. at.Indices.Select(_ => 1), .. target.Chunks[leadingIndex.Length..]], [.. at.Indices.Select((_, i) => "d" + i), .. target.Dimensions[leadingIndex.Length..]]);

        var keys = new List<string>();
        var tiles = new List<long[]>();
        long ny = gridRank == 2 ? target.ChunkCount(leadingIndex.Length) : 1, nx = gridRank >= 1 ? target.ChunkCount(target.Rank - 1) : 1;
        for (long ty = 0; ty < ny; ty++)
            for (long tx = 0; tx < nx; tx++)
                tiles.Add(gridRank switch { 2 => [ty, tx], 1 => [tx], _ => [] });
        foreach (var tile in tiles)
        {
            var from = StoreKey.Join(filePrefix, source.ChunkKey(_format, [.. at.Indices, .. tile]));
            var key = target.ChunkKey(_format, [.. leadingIndex, .. tile]);
            if (!await root.CopyAsync(from, StoreKey.Join(runPrefix, key), cancellationToken).ConfigureAwait(false)) return null;
            keys.Add(key);
        }
        return keys;
    }

    private async Task<(string, JsonObject)?> FindMetadataAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken)
    {
        foreach (var prefix in prefixes)
            if (await ReadMetadataAsync(prefix, cancellationToken).ConfigureAwait(false) is { } metadata)
                return (prefix, metadata);
        return null;
    }

    private async Task<JsonObject?> ReadMetadataAsync(string prefix, CancellationToken cancellationToken)
    {
        var bytes = await root.TryGetAsync(StoreKey.Join(prefix, _format == ZarrFormat.V2 ? ".zmetadata" : "zarr.json"), cancellationToken).ConfigureAwait(false);
        if (bytes is null) return null;
        try
        {
            var doc = JsonNode.Parse(bytes) as JsonObject;
            return _format == ZarrFormat.V2 ? doc?["metadata"] as JsonObject : doc?["consolidated_metadata"]?["metadata"] as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long[]? Leading(JsonObject metadata, string v2Name, string v3Name)
    {
        var node = metadata[v2Name] ?? metadata["chunk_grid"]?["configuration"]?[v3Name];
        return node is JsonArray a ? [.. a.Select(x => x!.GetValue<long>())] : null;
    }

    private JsonObject? Stored(JsonObject metadata, string path) =>
        (_format == ZarrFormat.V2 ? metadata[path + "/.zarray"] : metadata[path]) as JsonObject;

    private JsonObject Normalized(ZarrArray target) =>
        JsonNode.Parse(CanonicalJson.Serialize(_format == ZarrFormat.V2 ? target.V2Metadata() : target.V3Metadata()))!.AsObject();

    /// <summary>What makes two arrays' chunks interchangeable: everything but the leading dimensions, names and attributes.</summary>
    private static string Signature(JsonObject metadata, int gridRank)
    {
        var m = (JsonObject)metadata.DeepClone();
        m.Remove("attributes");
        m.Remove("dimension_names");
        Trail(m, "shape");
        Trail(m, "chunks");
        if (m["chunk_grid"]?["configuration"] is JsonObject grid) Trail(grid, "chunk_shape");
        return CanonicalJson.SerializeToString(m);

        void Trail(JsonObject o, string name)
        {
            if (o[name] is not JsonArray a) return;
            o[name] = new JsonArray([.. a.Skip(Math.Max(0, a.Count - gridRank)).Select(x => x?.DeepClone())]);
        }
    }
}
