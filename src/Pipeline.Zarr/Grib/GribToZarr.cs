using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Pipeline.Grib2;
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

    /// <summary>
    /// Store requests (chunk puts and copies, metadata puts) in flight at once, besides the <see cref="Parallelism"/>
    /// threads of CPU work: an object store's per-request latency is hidden behind decoding instead of added to it.
    /// </summary>
    public int IoConcurrency { get; init; } = ZarrWriter.DefaultConcurrentPuts;

    /// <summary>When set, each phase's time is recorded here (see <see cref="ConversionTimings"/>).</summary>
    public ConversionTimings? Timings { get; init; }

    /// <summary>
    /// Where fields' encoded chunks may be copied from instead of decoding them (e.g. the per-file Zarrs of a model
    /// run, <see cref="PerFileChunks"/>); a field the source declines is decoded. Null: decode every field.
    /// </summary>
    public IFieldChunkSource? ChunkSource { get; init; }

    /// <summary>
    /// Write only what a run Zarr is assembled from (<see cref="PerFileChunks"/>): the fields' data chunks and the root's
    /// consolidated metadata (v2 <c>.zmetadata</c>, v3 <c>zarr.json</c>), built in memory from the metadata documents,
    /// which are not written one by one, nor are the coordinates. Not a browsable Zarr (no <c>.zarray</c>, no
    /// coordinates): a staging area. The consolidated document is the same bytes a full conversion writes.
    /// </summary>
    public bool Staging { get; init; }
}

/// <param name="StoredBytes">Bytes of the objects the conversion put (each key counted once; store-side copies not counted).</param>
/// <param name="Metadata">The root's consolidated metadata as written (v2 <c>.zmetadata</c>, v3 <c>zarr.json</c>).</param>
public sealed record ConversionSummary(int Files, int Fields, int Groups, long Values, long RawBytes, long StoredBytes, int Duplicates,
    TimeSpan Elapsed, IReadOnlyList<string> GroupNames, IReadOnlyList<string> Warnings, byte[]? Metadata = null)
{
    public double ValuesPerSecond => Values / Math.Max(Elapsed.TotalSeconds, 1e-9);
    public double RawMegabytesPerSecond => RawBytes / 1e6 / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>Progress of a conversion: fields done out of fields total.</summary>
public readonly record struct ConversionProgress(int Done, int Total, string Group);

/// <summary>
/// GRIB2 files to a Zarr store, one group per cfgrib hypercube: decode and chunk compression run in parallel on all
/// cores, with up to <see cref="ConversionOptions.IoConcurrency"/> store requests in flight beside them; each group's
/// metadata is committed once by this (single) owner, consolidated from what was written (nothing is read back). Optionally kerchunk references per message
/// (scan_grib-style, under <c>refs/FILE.scan.json</c>), combined per group (<c>refs/GROUP.json</c>) and the
/// <c>.idx</c> sidecar per file (<c>refs/FILE.idx</c>).
/// </summary>
public static class GribToZarr
{
    public static async Task<ConversionSummary> ConvertAsync(IReadOnlyList<string> files, IObjectStore store, ConversionOptions options,
        IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var timings = options.Timings ?? new ConversionTimings();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellationToken };
        var warnings = new ConcurrentQueue<string>();
        foreach (var file in files)
            if (!File.Exists(file)) throw new FileNotFoundException($"GRIB file '{file}' does not exist", file);

        // Files are mapped and scanned in parallel; records keep the order of the files. Mapped, not read: a run of
        // hundreds of files is assembled without holding them on the heap (scanning touches the headers' pages, a
        // field's data is read when it is decoded, not at all when its chunks are copied). Unmapped when done.
        var perFile = new IReadOnlyList<GribFieldRecord>[files.Count];
        // Point-by-point coordinates (projected, rotated, reduced grids of a million points and more: a Lambert grid
        // takes tens of milliseconds) start computing as soon as their file is scanned, on the core that scanning
        // and planning, mostly serial, leave idle; the plan then takes them over instead of allocating its own.
        var early = new ConcurrentDictionary<string, GridCoordinates>(StringComparer.Ordinal);
        void StartLargeGrids(IReadOnlyList<GribFieldRecord> records)
        {
            foreach (var r in records)
            {
                if (r.Layout == GridLayout.Regular || r.Grid.PointCount < 1_000_000 || early.ContainsKey(r.GridKey)) continue;
                var g = GridCoordinates.Allocate(r);
                if (early.TryAdd(r.GridKey, g)) _ = g.FillAsync(timings);
            }
        }
        var mapped = new MappedGribFile?[files.Count];
        try
        {
            using (timings.Measure("read+scan"))
            {
                await Parallel.ForAsync(0, files.Count, parallel, (i, _) =>
                {
                    var file = files[i];
                    try
                    {
                        mapped[i] = MappedGribFile.Open(file, w => warnings.Enqueue($"{file}: {w}"));
                        perFile[i] = GribFieldRecord.Of(mapped[i]!);
                        StartLargeGrids(perFile[i]);
                    }
                    catch (Pipeline.Grib2.GribFormatException e)
                    {
                        throw new InvalidDataException($"'{file}' is not readable GRIB2: {e.Message}", e);
                    }
                    return ValueTask.CompletedTask;
                }).ConfigureAwait(false);
            }
            var records = perFile.SelectMany(r => r).ToList();
            if (records.Count == 0) throw new InvalidDataException($"no GRIB2 fields in {string.Join(", ", files)}");
            IReadOnlyList<Hypercube> cubes;
            IReadOnlyList<GridCoordinates> grids;
            using (timings.Measure("plan")) (cubes, grids) = CfgribMapping.PlanDeferred(records, options.Codecs, options.MaxChunkBytes, early);
            options.ChunkSource?.Prepare(records, options.Format, options.Codecs, options.MaxChunkBytes);

            var counting = new CountingStore(store);
            var io = Math.Max(1, options.IoConcurrency);
            var writer = new ZarrWriter(options.Staging ? new DataChunksOnlyStore(counting, cubes, options.Format) : counting, options.Format, io);
            await writer.WriteGroupAsync("", new System.Text.Json.Nodes.JsonObject { ["Conventions"] = "CF-1.7", ["groups"] = string.Join(' ', cubes.Select(c => c.Group)) }, cancellationToken).ConfigureAwait(false);
            long values = 0, raw = 0;
            var done = 0;
            var total = cubes.Sum(c => c.Fields.Count);
            var runs = cubes.Select(c => new RunDataset(writer, c.Layout)).ToArray();
            var events = cubes.Select(_ => new ConcurrentQueue<FieldWritten>()).ToArray();

            // One parallel loop over all the CPU work, largest first (big items start early, small ones fill the gaps at
            // the end): the coordinates of each grid (computed, then encoded for the first group on it; the other groups
            // reuse the encoded chunks), and every field of every group (decoded, encoded, put).
            var gridOwner = new Dictionary<GridCoordinates, int>();
            for (var i = 0; i < cubes.Count; i++)
            {
                var grid = grids.FirstOrDefault(g => cubes[i].Layout.StaticArrays.Any(a => ReferenceEquals(a.Values, g.Lat) && g.Lat.Length > 0));
                if (grid is not null) gridOwner.TryAdd(grid, i);
            }
            var work = grids.Select(g => (Cube: gridOwner.GetValueOrDefault(g, -1), Field: (GribFieldRecord?)null, Grid: (GridCoordinates?)g, Cost: g.Points * 4))
                .Concat(cubes.SelectMany((c, i) => c.Fields.Select(f => (Cube: i, Field: (GribFieldRecord?)f, Grid: (GridCoordinates?)null, Cost: (long)f.Field.NumberOfDataPoints))))
                .OrderByDescending(w => w.Cost).ToList();
            // CPU work (coordinates, decode + encode) holds one of Parallelism places; a worker waiting on the store holds
            // none, so puts and copies overlap the next fields' decoding. Workers: Parallelism + IoConcurrency, which
            // also bounds the encoded chunks waiting for their put.
            using var cpu = new SemaphoreSlim(Math.Max(1, options.Parallelism));
            var loop = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism) + io, CancellationToken = cancellationToken };

            // The single owner of each group folds its events and commits the group's metadata once, as soon as the
            // group is complete: all its fields written and the coordinates of its grids computed. Groups are disjoint,
            // so a finished group's commit (its metadata documents and coordinate chunks, mostly store writes) overlaps
            // the other groups' decoding instead of waiting for the last field of all. The root's consolidated
            // metadata goes last, when every group's is in place.
            var dependents = grids.ToDictionary(g => g, g => Enumerable.Range(0, cubes.Count)
                .Where(i => cubes[i].Layout.StaticArrays.Any(a => ReferenceEquals(a.Values, g.Lat) || ReferenceEquals(a.Values, g.Lon))).ToArray());
            var pending = cubes.Select((c, i) => c.Fields.Count + dependents.Values.Count(d => d.Contains(i))).ToArray();
            var commits = new Task?[cubes.Count];
            Task Commit(int i) => Task.Run(async () =>
            {
                var state = RunState.Empty;
                foreach (var e in events[i]) state = state.Apply(cubes[i].Layout, e);
                using (timings.AsyncStep("commit")) await runs[i].CommitMetadataAsync(state, cancellationToken).ConfigureAwait(false);
            }, cancellationToken);
            void Settled(int i)
            {
                if (Interlocked.Decrement(ref pending[i]) == 0) commits[i] = Commit(i);
            }

            try
            {
                using (timings.Measure("fields+coordinates"))
                {
                    await Parallel.ForEachAsync(work, loop, async (w, ct) =>
                    {
                        if (w.Grid is { } g)
                        {
                            // A grid started early is awaited without a CPU place; any other is computed here, holding one.
                            if (g.Started is { } started)
                                using (timings.AsyncStep("coordinates wait")) await started.WaitAsync(ct).ConfigureAwait(false);
                            await cpu.WaitAsync(ct).ConfigureAwait(false);
                            try
                            {
                                if (g.Started is null)
                                    using (timings.Step("coordinates")) g.Fill();
                                if (w.Cube >= 0)
                                    using (timings.Step("encode coordinates")) runs[w.Cube].EncodeStaticArrays();
                            }
                            finally
                            {
                                cpu.Release();
                            }
                            foreach (var i in dependents[g]) Settled(i);
                            return;
                        }
                        var cube = cubes[w.Cube];
                        var f = w.Field!;
                        var points = f.Field.NumberOfDataPoints;
                        if (options.ChunkSource is { } source)
                        {
                            var run = runs[w.Cube];
                            var indices = run.IndicesOf(f.Variable, cube.AxisValues(f));
                            var array = run.ArrayOf(run.Layout.Variable(f.Variable), [.. indices.Select(i => i + 1), .. run.Layout.GridShape]);
                            IReadOnlyList<string>? copied;
                            using (timings.AsyncStep("copy")) copied = await source.TryCopyAsync(f, array, indices, ct).ConfigureAwait(false);
                            if (copied is not null)
                            {
                                events[w.Cube].Enqueue(new FieldWritten(f.Variable, [.. indices], copied));
                                Interlocked.Add(ref values, points);
                                Interlocked.Add(ref raw, points * 4L);
                                progress?.Report(new ConversionProgress(Interlocked.Increment(ref done), total, cube.Group));
                                Settled(w.Cube);
                                return;
                            }
                        }
                        IReadOnlyList<(string Key, byte[] Bytes)> chunks;
                        long[] fieldIndices;
                        await cpu.WaitAsync(ct).ConfigureAwait(false);
                        // One buffer: decoded as doubles, narrowed to float32 in place, encoded from there.
                        var data = FieldBuffers.Rent<double>(points);
                        try
                        {
                            Span<float> values;
                            try
                            {
                                using var _ = timings.Step("decode");
                                values = f.DecodeFloat32InPlace(data.AsSpan(0, points));
                            }
                            catch (Exception e) when (e is Pipeline.Grib2.GribFormatException or NotSupportedException or InvalidDataException or ArgumentException)
                            {
                                throw new InvalidDataException($"{f.File} message {f.MessageNumber} ({f.Variable}): cannot decode: {e.Message}", e);
                            }
                            var run = runs[w.Cube];
                            fieldIndices = run.IndicesOf(f.Variable, cube.AxisValues(f));
                            var array = run.ArrayOf(run.Layout.Variable(f.Variable), [.. fieldIndices.Select(i => i + 1), .. run.Layout.GridShape]);
                            using (timings.Step("encode")) chunks = writer.EncodeBlock<float>(array, fieldIndices, values);
                        }
                        finally
                        {
                            FieldBuffers.Return(data);
                            cpu.Release();
                        }
                        using (timings.AsyncStep("put"))
                            await Task.WhenAll(chunks.Select(c => writer.PutAsync(c.Key, c.Bytes, ct))).ConfigureAwait(false);
                        events[w.Cube].Enqueue(new FieldWritten(f.Variable, [.. fieldIndices], [.. chunks.Select(c => c.Key)]));
                        Interlocked.Add(ref values, points);
                        Interlocked.Add(ref raw, points * 4L);
                        progress?.Report(new ConversionProgress(Interlocked.Increment(ref done), total, cube.Group));
                        Settled(w.Cube);
                    }).ConfigureAwait(false);
                }

                // What is left: the commits still running, and any group with nothing to wait for.
                using (timings.Measure("commit metadata"))
                {
                    for (var i = 0; i < cubes.Count; i++) commits[i] ??= Commit(i);
                    await Task.WhenAll(commits.OfType<Task>()).ConfigureAwait(false);
                }
            }
            catch
            {
                // A failed conversion still waits for the commits it started: none is left writing behind the caller.
                try
                {
                    await Task.WhenAll(commits.OfType<Task>()).ConfigureAwait(false);
                }
                catch
                {
                    // The conversion's own failure is what the caller hears.
                }
                throw;
            }
            byte[] metadata;
            using (timings.Measure("consolidate root"))
            {
                metadata = await writer.ConsolidateWrittenAsync("", cancellationToken).ConfigureAwait(false);
                // Staging: the consolidated document is the one metadata object that goes to the store.
                if (options.Staging)
                    await counting.PutAsync(options.Format == ZarrFormat.V2 ? ".zmetadata" : "zarr.json", metadata, cancellationToken).ConfigureAwait(false);
            }
            if (options.References)
                using (timings.Measure("references")) await WriteReferencesAsync(files, cubes, counting,
                    files.Select((f, i) => (f, perFile[i])).DistinctBy(p => p.f).ToDictionary(p => p.f, p => p.Item2), cancellationToken).ConfigureAwait(false);
            return new ConversionSummary(files.Count, records.Count, cubes.Count, values, raw, counting.BytesWritten, cubes.Sum(c => c.Duplicates),
                clock.Elapsed, [.. cubes.Select(c => c.Group)], [.. warnings], metadata);
        }
        finally
        {
            foreach (var m in mapped) m?.Dispose();
        }
    }

    /// <summary>Per-message reference sets (scan_grib-style), combined sets per group, and .idx sidecars.</summary>
    public static Task WriteReferencesAsync(IReadOnlyList<string> files, IReadOnlyList<Hypercube> cubes, IObjectStore store, CancellationToken cancellationToken) =>
        WriteReferencesAsync(files, cubes, store, null, cancellationToken);

    /// <summary>As above; <paramref name="allRecords"/> (every field of each file, by path) saves re-reading the files for the .idx.</summary>
    public static async Task WriteReferencesAsync(IReadOnlyList<string> files, IReadOnlyList<Hypercube> cubes, IObjectStore store,
        IReadOnlyDictionary<string, IReadOnlyList<GribFieldRecord>>? allRecords, CancellationToken cancellationToken)
    {
        allRecords ??= new Dictionary<string, IReadOnlyList<GribFieldRecord>>();
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
            // The .idx lists every field of the file (also those a group skipped as repeated), in file order.
            var entries = allRecords.TryGetValue(file, out var recs) ? recs.Select(r => r.Entry) : Inventory.Build(Pipeline.Grib2.GribFile.Read(file));
            await store.PutAsync(StoreKey.Join("refs", name + ".idx"), Encoding.UTF8.GetBytes(Idx.Write(entries)), cancellationToken).ConfigureAwait(false);
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

/// <summary>
/// The store a staging conversion writes through (<see cref="ConversionOptions.Staging"/>): puts of the fields' data
/// chunks pass, every other put (metadata documents, coordinate chunks, the consolidated metadata the writer puts) is
/// dropped; the writer still holds the documents it built, for consolidation. Reads pass.
/// </summary>
internal sealed class DataChunksOnlyStore(IObjectStore inner, IReadOnlyList<Hypercube> cubes, ZarrFormat format) : ForwardingStore(inner)
{
    // "group/variable/" of every data array (the paths PerFileChunks copies from).
    private readonly HashSet<string> _arrays = [.. cubes.SelectMany(c => c.Fields.Select(f => (c.Group.Length == 0 ? "" : c.Group + "/") + f.Variable + "/"))];

    private bool IsDataChunk(string key)
    {
        var slash = key.LastIndexOf('/');
        if (slash < 0) return false;
        var name = key[(slash + 1)..];
        if (name is ".zarray" or ".zattrs" or ".zgroup" or ".zmetadata" or "zarr.json") return false;
        // v2: group/variable/0.0.0; v3: group/variable/c/0/0/0.
        if (format == ZarrFormat.V2) return _arrays.Contains(key[..(slash + 1)]);
        foreach (var array in _arrays)
            if (key.Length > array.Length + 1 && key.StartsWith(array, StringComparison.Ordinal) && key.AsSpan(array.Length).StartsWith("c/"))
                return true;
        return false;
    }

    public override Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        IsDataChunk(key) ? Inner.PutAsync(key, data, cancellationToken) : Task.CompletedTask;

    public override Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default) =>
        IsDataChunk(key) ? Inner.PutAsync(key, content, cancellationToken) : Task.CompletedTask;
}

/// <summary>Passes every call to the inner store and counts the bytes put (the size of what a conversion wrote; a key put twice counts once).</summary>
internal sealed class CountingStore(IObjectStore inner) : ForwardingStore(inner)
{
    private readonly ConcurrentDictionary<string, long> _sizes = new(StringComparer.Ordinal);

    public long BytesWritten => _sizes.Values.Sum();

    public override async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await Inner.PutAsync(key, data, cancellationToken).ConfigureAwait(false);
        _sizes[key] = data.Length;
    }

    public override async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var start = content.CanSeek ? content.Position : -1;
        await Inner.PutAsync(key, content, cancellationToken).ConfigureAwait(false);
        if (start >= 0) _sizes[key] = content.Position - start;
    }
}
