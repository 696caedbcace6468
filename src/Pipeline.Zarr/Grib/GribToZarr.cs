using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Pipeline.Grib2.Indexing;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Runs;
using Pipeline.Zarr.Storage;

namespace Pipeline.Zarr.Grib;

public sealed record ConversionOptions
{
    public ZarrFormat Format { get; init; } = ZarrFormat.V2;
    public CodecPipeline Codecs { get; init; } = CodecPipeline.Zstd();
    public bool References { get; init; }
    public int MaxChunkBytes { get; init; } = ChunkPlanner.DefaultMaxChunkBytes;
    public int Parallelism { get; init; } = Environment.ProcessorCount;
}

public sealed record ConversionSummary(int Files, int Fields, int Groups, long Values, long RawBytes, long StoredBytes, int Duplicates,
    TimeSpan Elapsed, IReadOnlyList<string> GroupNames, IReadOnlyList<string> Warnings)
{
    public double ValuesPerSecond => Values / Math.Max(Elapsed.TotalSeconds, 1e-9);
    public double RawMegabytesPerSecond => RawBytes / 1e6 / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>Progress of a conversion: fields done out of fields total.</summary>
public readonly record struct ConversionProgress(int Done, int Total, string Group);

/// <summary>
/// GRIB2 files to a Zarr store, one group per cfgrib hypercube: decode and chunk compression run in parallel on all
/// cores; each group's metadata is committed once by this (single) owner. Optionally kerchunk references per message
/// (scan_grib-style, under <c>refs/FILE.scan.json</c>), combined per group (<c>refs/GROUP.json</c>) and the
/// <c>.idx</c> sidecar per file (<c>refs/FILE.idx</c>).
/// </summary>
public static class GribToZarr
{
    public static async Task<ConversionSummary> ConvertAsync(IReadOnlyList<string> files, IObjectStore store, ConversionOptions options,
        IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var warnings = new ConcurrentQueue<string>();
        var records = new List<GribFieldRecord>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"GRIB file '{file}' does not exist", file);
            try
            {
                records.AddRange(GribFieldRecord.ReadFile(file, w => warnings.Enqueue($"{file}: {w}")));
            }
            catch (Pipeline.Grib2.GribFormatException e)
            {
                throw new InvalidDataException($"'{file}' is not readable GRIB2: {e.Message}", e);
            }
        }
        if (records.Count == 0) throw new InvalidDataException($"no GRIB2 fields in {string.Join(", ", files)}");
        var cubes = CfgribMapping.Plan(records, options.Codecs, options.MaxChunkBytes);
        var writer = new ZarrWriter(store, options.Format);
        await writer.WriteGroupAsync("", new System.Text.Json.Nodes.JsonObject { ["Conventions"] = "CF-1.7", ["groups"] = string.Join(' ', cubes.Select(c => c.Group)) }, cancellationToken).ConfigureAwait(false);
        long values = 0, raw = 0, stored = 0;
        var done = 0;
        var total = cubes.Sum(c => c.Fields.Count);
        foreach (var cube in cubes)
        {
            var run = new RunDataset(writer, cube.Layout);
            var events = new ConcurrentQueue<FieldWritten>();
            await Parallel.ForEachAsync(cube.Fields, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken },
                async (f, ct) =>
                {
                    float[] data;
                    try
                    {
                        data = f.DecodeFloat32();
                    }
                    catch (Exception e) when (e is Pipeline.Grib2.GribFormatException or NotSupportedException or InvalidDataException)
                    {
                        throw new InvalidDataException($"{f.File} message {f.MessageNumber} ({f.Variable}): cannot decode: {e.Message}", e);
                    }
                    var written = await run.WriteFieldAsync(f.Variable, cube.AxisValues(f), data, ct).ConfigureAwait(false);
                    events.Enqueue(written);
                    Interlocked.Add(ref values, data.Length);
                    Interlocked.Add(ref raw, data.Length * 4L);
                    progress?.Report(new ConversionProgress(Interlocked.Increment(ref done), total, cube.Group));
                }).ConfigureAwait(false);
            // The single owner: fold and commit the group's metadata once.
            var state = RunState.Empty;
            foreach (var e in events) state = state.Apply(cube.Layout, e);
            await run.CommitMetadataAsync(state, cancellationToken).ConfigureAwait(false);
        }
        if (options.Format == ZarrFormat.V2) await writer.ConsolidateAsync("", cancellationToken).ConfigureAwait(false);
        else await writer.ConsolidateAsync("", cancellationToken).ConfigureAwait(false);
        if (options.References) await WriteReferencesAsync(files, cubes, store, cancellationToken).ConfigureAwait(false);
        await foreach (var o in store.ListAsync("", cancellationToken).ConfigureAwait(false)) stored += o.Length;
        return new ConversionSummary(files.Count, records.Count, cubes.Count, values, raw, stored, cubes.Sum(c => c.Duplicates),
            clock.Elapsed, [.. cubes.Select(c => c.Group)], [.. warnings]);
    }

    /// <summary>Per-message reference sets (scan_grib-style), combined sets per group, and .idx sidecars.</summary>
    public static async Task WriteReferencesAsync(IReadOnlyList<string> files, IReadOnlyList<Hypercube> cubes, IObjectStore store, CancellationToken cancellationToken)
    {
        var perMessage = cubes.SelectMany(c => c.Fields.Select(f => (Cube: c, Field: f, Refs: GribReferences.ForMessage(c, f)))).ToList();
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            var sets = perMessage.Where(p => p.Field.File == file).OrderBy(p => p.Field.MessageNumber).ThenBy(p => p.Field.Field.IndexInMessage).ToList();
            var json = new StringBuilder("[");
            for (var i = 0; i < sets.Count; i++)
            {
                if (i > 0) json.Append(", ");
                json.Append(Encoding.UTF8.GetString(sets[i].Refs.ToJson()));
            }
            json.Append(']');
            await store.PutAsync(StoreKey.Join("refs", name + ".scan.json"), Encoding.UTF8.GetBytes(json.ToString()), cancellationToken).ConfigureAwait(false);
            var messages = Pipeline.Grib2.GribFile.Read(file);
            await store.PutAsync(StoreKey.Join("refs", name + ".idx"), Encoding.UTF8.GetBytes(Idx.Write(Inventory.Build(messages))), cancellationToken).ConfigureAwait(false);
        }
        foreach (var cube in cubes)
        {
            var sets = perMessage.Where(p => p.Cube == cube).Select(p => p.Refs).ToList();
            var concat = new List<string> { "time", "step" };
            if (cube.Layout.Axes.Any(a => a.Name == "number")) concat.Insert(0, "number");
            var levelName = cube.Layout.Axes.FirstOrDefault(a => a.Name is not ("time" or "step" or "number"))?.Name;
            if (levelName is not null) concat.Add(levelName);
            // Different variables at one position are fine; the combiner unions them.
            var combined = ReferenceCombiner.Combine(sets, concat);
            await store.PutAsync(StoreKey.Join("refs", cube.Group + ".json"), combined.ToJson(), cancellationToken).ConfigureAwait(false);
        }
    }
}
