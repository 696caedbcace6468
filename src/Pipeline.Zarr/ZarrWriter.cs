using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;

namespace Pipeline.Zarr;

/// <summary>
/// Writes Zarr v2 or v3 hierarchies into an <see cref="IObjectStore"/>: groups, array metadata, chunks and
/// consolidated metadata. Writes are deterministic (the same input gives the same bytes) and whole-object, so
/// writing a chunk twice is harmless. Chunk writes are thread-safe and may run in parallel; metadata writes
/// should come from one owner (see <see cref="Runs.RunDataset"/>). At most <paramref name="maxConcurrentPuts"/>
/// puts of this writer are in flight at once (the store's connections stay bounded whatever the callers do).
/// </summary>
public sealed class ZarrWriter(IObjectStore store, ZarrFormat format = ZarrFormat.V2, int maxConcurrentPuts = ZarrWriter.DefaultConcurrentPuts)
{
    /// <summary>Puts in flight per writer by default: enough to hide an object store's per-request latency.</summary>
    public const int DefaultConcurrentPuts = 16;

    private readonly SemaphoreSlim _puts = new(Math.Max(1, maxConcurrentPuts));

    // Every metadata document this writer put (key -> bytes), for consolidation without reading them back.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _written = new(StringComparer.Ordinal);

    public IObjectStore Store { get; } = store;

    public ZarrFormat Format { get; } = format;

    /// <summary>Puts one object through the writer's bound on puts in flight.</summary>
    public async Task PutAsync(string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        await _puts.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Store.PutAsync(key, bytes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _puts.Release();
        }
    }

    private Task PutMetadataAsync(string key, byte[] bytes, CancellationToken cancellationToken)
    {
        _written[key] = bytes;
        return PutAsync(key, bytes, cancellationToken);
    }

    /// <summary>Writes a group's metadata (<c>.zgroup</c> + <c>.zattrs</c>, or v3 <c>zarr.json</c>). Path "" is the root.</summary>
    public async Task WriteGroupAsync(string path, JsonObject? attributes = null, CancellationToken cancellationToken = default)
    {
        if (path.Length > 0) StoreKey.Validate(path);
        var prefix = path.Length == 0 ? "" : path + "/";
        if (Format == ZarrFormat.V2)
        {
            await Task.WhenAll(
                PutMetadataAsync(prefix + ".zgroup", CanonicalJson.Serialize(new JsonObject { ["zarr_format"] = 2 }), cancellationToken),
                PutMetadataAsync(prefix + ".zattrs", CanonicalJson.Serialize(attributes ?? []), cancellationToken)).ConfigureAwait(false);
        }
        else
        {
            var doc = new JsonObject { ["zarr_format"] = 3, ["node_type"] = "group", ["attributes"] = attributes?.DeepClone() ?? new JsonObject() };
            await PutMetadataAsync(prefix + "zarr.json", CanonicalJson.Serialize(doc), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes an array's metadata (<c>.zarray</c> + <c>.zattrs</c>, or v3 <c>zarr.json</c>).</summary>
    public async Task WriteArrayMetadataAsync(ZarrArray array, CancellationToken cancellationToken = default)
    {
        if (Format == ZarrFormat.V2)
        {
            await Task.WhenAll(
                PutMetadataAsync(array.Path + "/.zarray", CanonicalJson.Serialize(array.V2Metadata()), cancellationToken),
                PutMetadataAsync(array.Path + "/.zattrs", CanonicalJson.Serialize(array.V2Attributes()), cancellationToken)).ConfigureAwait(false);
        }
        else
        {
            await PutMetadataAsync(array.Path + "/zarr.json", CanonicalJson.Serialize(array.V3Metadata()), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Metadata and every chunk of a whole array held in memory (coordinates, small arrays).</summary>
    public async Task WriteArrayAsync<T>(ZarrArray array, ReadOnlyMemory<T> data, CancellationToken cancellationToken = default) where T : unmanaged
    {
        await WriteArrayMetadataAsync(array, cancellationToken).ConfigureAwait(false);
        await WriteBlockAsync(array, [], data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the block at <paramref name="leadingIndex"/> along the leading dimensions (whose chunk size must be 1),
    /// holding the full extent of the remaining (at most 2) trailing dimensions in C order: one 2-D field into its
    /// chunk(s) (tiled when the chunk shape is smaller than the field; edge chunks padded with the fill value).
    /// Returns the keys written.
    /// </summary>
    public async Task<IReadOnlyList<string>> WriteBlockAsync<T>(ZarrArray array, long[] leadingIndex, ReadOnlyMemory<T> block,
        CancellationToken cancellationToken = default) where T : unmanaged
    {
        var encoded = EncodeBlock(array, leadingIndex, block.Span);
        var keys = new string[encoded.Count];
        var tasks = new Task[encoded.Count];
        for (var i = 0; i < encoded.Count; i++)
        {
            keys[i] = encoded[i].Key;
            tasks[i] = PutAsync(encoded[i].Key, encoded[i].Bytes, cancellationToken);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return keys;
    }

    /// <summary>The encoded chunks of a block (see <see cref="WriteBlockAsync{T}"/>) without writing them: CPU only.</summary>
    public IReadOnlyList<(string Key, byte[] Bytes)> EncodeBlock<T>(ZarrArray array, long[] leadingIndex, ReadOnlySpan<T> block) where T : unmanaged
    {
        if (ZarrDataType.Of<T>() != array.DataType)
            throw new ArgumentException($"array '{array.Path}' holds {array.DataType}, not {typeof(T).Name}");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("chunks are encoded little-endian on little-endian hosts only");
        var lead = leadingIndex.Length;
        var trailing = array.Rank - lead;
        if (trailing is < 0 or > 2)
            throw new ArgumentException($"array '{array.Path}': a block spans the last 0 to 2 dimensions, not {trailing}");
        for (var d = 0; d < lead; d++)
        {
            if (array.Chunks[d] != 1) throw new ArgumentException($"array '{array.Path}': leading dimension {array.Dimensions[d]} must have chunk size 1");
            if (leadingIndex[d] < 0 || leadingIndex[d] >= array.Shape[d])
                throw new ArgumentOutOfRangeException(nameof(leadingIndex), $"array '{array.Path}': index {leadingIndex[d]} outside {array.Dimensions[d]} of size {array.Shape[d]}");
        }
        long ny = trailing == 2 ? array.Shape[lead] : 1, nx = trailing >= 1 ? array.Shape[^1] : 1;
        if (block.Length != ny * nx)
            throw new ArgumentException($"array '{array.Path}': block has {block.Length} values, expected {ny * nx}");
        int cy = trailing == 2 ? array.Chunks[lead] : 1, cx = trailing >= 1 ? array.Chunks[^1] : 1;
        var result = new List<(string, byte[])>();
        var index = new long[array.Rank];
        leadingIndex.CopyTo(index, 0);
        // Tiles are copied into one pooled buffer (big fields: no fresh pages per call).
        var tileBuffer = cy * (long)cx == block.Length ? null : FieldBuffers.Rent<T>(cy * cx);
        try
        {
            EncodeTiles(array, block, tileBuffer is null ? null : tileBuffer.AsSpan(0, cy * cx), index, lead, trailing, ny, nx, cy, cx, result);
        }
        finally
        {
            if (tileBuffer is not null) FieldBuffers.Return(tileBuffer);
        }
        return result;
    }

    private void EncodeTiles<T>(ZarrArray array, ReadOnlySpan<T> block, Span<T> tile, long[] index, int lead, int trailing, long ny, long nx, int cy, int cx,
        List<(string, byte[])> result) where T : unmanaged
    {
        var fill = FillOf<T>(array);
        var tiled = !tile.IsEmpty;
        for (long ty = 0; ty * cy < ny; ty++)
        {
            for (long tx = 0; tx * cx < nx; tx++)
            {
                ReadOnlySpan<T> raw;
                if (!tiled)
                {
                    raw = block;
                }
                else
                {
                    for (var r = 0; r < cy; r++)
                    {
                        var dst = tile.Slice(r * cx, cx);
                        var y = ty * cy + r;
                        if (y >= ny) { dst.Fill(fill); continue; }
                        var x0 = tx * cx;
                        var n = (int)Math.Min(cx, nx - x0);
                        block.Slice((int)(y * nx + x0), n).CopyTo(dst);
                        if (n < cx) dst[n..].Fill(fill);
                    }
                    raw = tile;
                }
                if (trailing == 2) { index[lead] = ty; index[lead + 1] = tx; }
                else if (trailing == 1) index[lead] = tx;
                result.Add((array.ChunkKey(Format, index), array.Codecs.Encode(MemoryMarshal.AsBytes(raw))));
            }
        }
    }

    /// <summary>
    /// Writes consolidated metadata for the hierarchy under <paramref name="groupPath"/> from what the store holds:
    /// v2 <c>.zmetadata</c> (<c>zarr_consolidated_format</c> 1, what <c>xarray.open_zarr(consolidated=True)</c> reads);
    /// v3 the <c>consolidated_metadata</c> member of the group's <c>zarr.json</c> (as zarr-python 3 writes it).
    /// Lists the store and reads every document back: for hierarchies other writers made. Returns the bytes written.
    /// </summary>
    public async Task<byte[]> ConsolidateAsync(string groupPath = "", CancellationToken cancellationToken = default)
    {
        var prefix = groupPath.Length == 0 ? "" : StoreKey.Validate(groupPath) + "/";
        var keys = (await Store.ListAllAsync(prefix, cancellationToken).ConfigureAwait(false)).Select(o => o.Key[prefix.Length..]).ToList();
        var docs = keys.Where(IsMetadataDocument).Order(StringComparer.Ordinal).ToList();
        var texts = await Task.WhenAll(docs.Select(k => Store.GetAsync(prefix + k, cancellationToken))).ConfigureAwait(false);
        var root = Format == ZarrFormat.V3
            ? await Store.TryGetAsync(prefix + "zarr.json", cancellationToken).ConfigureAwait(false)
              ?? throw new InvalidOperationException($"no group zarr.json at '{groupPath}' in {Store.Location} to consolidate into")
            : null;
        return await WriteConsolidatedAsync(prefix, docs, texts, root, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// As <see cref="ConsolidateAsync"/>, from the metadata documents this writer put under <paramref name="groupPath"/>
    /// (the latest bytes of each key) instead of listing the store and reading them back: the same bytes when this
    /// writer is the hierarchy's only writer (one owner per group, as <see cref="Runs.RunDataset"/> requires), and no
    /// request but the put. Returns the bytes written.
    /// </summary>
    public async Task<byte[]> ConsolidateWrittenAsync(string groupPath = "", CancellationToken cancellationToken = default)
    {
        var prefix = groupPath.Length == 0 ? "" : StoreKey.Validate(groupPath) + "/";
        var written = _written.ToArray().Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(kv => (Key: kv.Key[prefix.Length..], kv.Value)).Where(kv => IsMetadataDocument(kv.Key))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var root = Format == ZarrFormat.V3
            ? _written.GetValueOrDefault(prefix + "zarr.json")
              ?? throw new InvalidOperationException($"no group zarr.json written at '{groupPath}' in {Store.Location} to consolidate into")
            : null;
        return await WriteConsolidatedAsync(prefix, [.. written.Select(kv => kv.Key)], [.. written.Select(kv => kv.Value)], root, cancellationToken)
            .ConfigureAwait(false);
    }

    private bool IsMetadataDocument(string key)
    {
        var name = key.Contains('/') ? key[(key.LastIndexOf('/') + 1)..] : key;
        return Format == ZarrFormat.V2 ? name is ".zarray" or ".zattrs" or ".zgroup" : name == "zarr.json";
    }

    private async Task<byte[]> WriteConsolidatedAsync(string prefix, IReadOnlyList<string> docs, IReadOnlyList<byte[]> texts, byte[]? v3Root,
        CancellationToken cancellationToken)
    {
        var entries = new JsonObject();
        for (var i = 0; i < docs.Count; i++)
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(texts[i]);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"metadata '{prefix + docs[i]}' in {Store.Location} is not JSON: {e.Message}", e);
            }
            if (Format == ZarrFormat.V2)
            {
                entries[docs[i]] = node;
            }
            else if (docs[i] != "zarr.json")
            {
                var nodePath = docs[i][..^"/zarr.json".Length];
                if (node is JsonObject o) o.Remove("consolidated_metadata");
                entries[nodePath] = node;
            }
        }
        if (Format == ZarrFormat.V2)
        {
            var doc = new JsonObject { ["metadata"] = entries, ["zarr_consolidated_format"] = 1 };
            var bytes = CanonicalJson.Serialize(doc);
            await PutAsync(prefix + ".zmetadata", bytes, cancellationToken).ConfigureAwait(false);
            return bytes;
        }
        else
        {
            var root = JsonNode.Parse(v3Root!)!.AsObject();
            root["consolidated_metadata"] = new JsonObject { ["kind"] = "inline", ["must_understand"] = false, ["metadata"] = entries };
            var bytes = CanonicalJson.Serialize(root);
            await PutMetadataAsync(prefix + "zarr.json", bytes, cancellationToken).ConfigureAwait(false);
            return bytes;
        }
    }

    private static T FillOf<T>(ZarrArray array) where T : unmanaged
    {
        var f = array.FillValue ?? 0;
        object boxed = typeof(T) switch
        {
            var t when t == typeof(float) => (float)f,
            var t when t == typeof(double) => f,
            var t when t == typeof(int) => (int)f,
            var t when t == typeof(long) => (long)f,
            var t when t == typeof(short) => (short)f,
            var t when t == typeof(sbyte) => (sbyte)f,
            var t when t == typeof(byte) => (byte)f,
            var t when t == typeof(ushort) => (ushort)f,
            var t when t == typeof(uint) => (uint)f,
            var t when t == typeof(ulong) => (ulong)f,
            _ => default(T),
        };
        return (T)boxed;
    }
}

/// <summary>Default chunk shapes.</summary>
public static class ChunkPlanner
{
    public const int DefaultMaxChunkBytes = 8 << 20;

    /// <summary>
    /// Chunk size 1 along the <paramref name="leadingDims"/> leading dimensions; the trailing ones whole (one field
    /// per chunk) while that stays under <paramref name="maxBytes"/>, otherwise halved (largest first) until it fits.
    /// </summary>
    public static int[] Plan(long[] shape, int leadingDims, int elementSize, int maxBytes = DefaultMaxChunkBytes)
    {
        var chunks = new int[shape.Length];
        for (var d = 0; d < shape.Length; d++) chunks[d] = d < leadingDims ? 1 : (int)Math.Max(1, Math.Min(shape[d], int.MaxValue));
        while (true)
        {
            long bytes = elementSize;
            for (var d = leadingDims; d < shape.Length; d++) bytes *= chunks[d];
            if (bytes <= maxBytes) return chunks;
            var largest = -1;
            for (var d = leadingDims; d < shape.Length; d++)
                if (chunks[d] > 1 && (largest < 0 || chunks[d] > chunks[largest])) largest = d;
            if (largest < 0) return chunks;
            chunks[largest] = (chunks[largest] + 1) / 2;
        }
    }
}
