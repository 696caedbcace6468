using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;
using Pipeline.Grib2;
using Pipeline.Streams.Fetch;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Runs;
using Pipeline.Zarr.Storage;

namespace Pipeline.Streams.Ingest;

/// <summary>What finalizing a run wrote.</summary>
/// <param name="FieldsCopied">GRIB2 fields whose run chunks were copied from the per-file chunks (staging areas or Zarrs) instead of decoded again.</param>
public sealed record FinalizedRun(ModelRunId RunId, int Generation, int Files, int Fields, long Values, string? ZarrKey, IReadOnlyList<string> Groups,
    IReadOnlyList<string> Problems, bool Notified, bool Triggered, long FieldsCopied = 0);

/// <summary>
/// Run-level outputs, once per completed generation: the whole run as one Zarr (a group per cfgrib hypercube, as
/// <c>pipeline zarr convert</c> writes it from the same files), combined kerchunk references per group along
/// step and level, the run manifest, the run notification and the downstream trigger. Every key is deterministic,
/// so finalizing again (after a crash before the entity heard the confirmation) rewrites the same bytes.
/// </summary>
public sealed class RunFinalizer(
    OutputStores stores,
    Fetcher fetcher,
    LocalFiles localFiles,
    Wis2Notifier notifier,
    HttpClient webhooks,
    ILogger? logger = null,
    Func<string, string?>? environment = null)
{
    private static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly Func<string, string?> _env = environment ?? Environment.GetEnvironmentVariable;

    public async Task<FinalizedRun> FinalizeAsync(RunFinalization run, CancellationToken cancellationToken = default)
    {
        var store = stores.Get(run.Outputs.Store);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var phases = new List<string>();
        void Phase(string name)
        {
            phases.Add($"{name} {clock.Elapsed.TotalSeconds:0.00} s");
            clock.Restart();
        }
        var timings = new ConversionTimings();
        var staging = FileZarrModes.IsStaging(run.Outputs);
        var problems = new List<string>();
        var paths = new List<(FinalizedFile File, string Path)>();
        foreach (var f in run.Indexed)
        {
            var path = localFiles.Find(run.RunId, f.DataId) ?? await FetchAgainAsync(run.RunId, f, problems, cancellationToken).ConfigureAwait(false);
            if (path is not null) paths.Add((f, path));
        }

        Phase("local files");
        // One format per run: the majority's (GRIB2 on a tie); files of the other are left out of the run products.
        var formats = paths.ToDictionary(p => p.File.DataId, p => InputFormats.Detect(p.Path), StringComparer.Ordinal);
        var netcdf = paths.Count(p => formats[p.File.DataId].IsNetCdf());
        var runFormat = netcdf > paths.Count - netcdf ? "netcdf" : "grib2";
        foreach (var odd in paths.Where(p => formats[p.File.DataId].IsNetCdf() != (runFormat == "netcdf")).ToList())
        {
            problems.Add($"{odd.File.DataId}: left out of the run Zarr and references: it is {formats[odd.File.DataId].Name()}, " +
                         $"the run is {runFormat} ({paths.Count - 1} other files); its own Zarr and references stand");
            paths.Remove(odd);
        }

        string? zarrKey = null;
        var groups = new List<string>();
        int fields = 0;
        long values = 0;
        byte[] sha = SHA512.HashData(Array.Empty<byte>());
        long length = 0;
        (double, double, double, double)? bounds = null;
        DateTimeOffset? from = null, to = null;
        PerFileChunks? reused = null;
        byte[]? written = null; // the run Zarr's consolidated metadata as the GRIB2 conversion wrote it
        if (paths.Count > 0)
        {
            zarrKey = OutputLayout.RunZarr(run.RunId);
            var runStore = new PrefixedStore(store, zarrKey);
            if (runFormat == "netcdf")
            {
                (fields, values, bounds, from, to) = await WriteNetCdfRunAsync(run, store, zarrKey, paths, groups, problems, cancellationToken).ConfigureAwait(false);
                Phase("netcdf run");
            }
            else
            {
                // The fields' chunks come from the per-file Zarrs or staging areas (a store-side copy each); only what they
                // cannot give is decoded. Both places are tried, the dataset's present mode first, so files processed
                // before a change of Outputs:FileZarr are still copied.
                reused = new PerFileChunks(store, zarrKey, paths.GroupBy(p => p.Path, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => PerFilePlaces(run.RunId, OutputLayout.FileName(g.First().File.DataId), staging), StringComparer.Ordinal));
                var options = FileProcessor.Options(run.Outputs) with { Parallelism = Environment.ProcessorCount, ChunkSource = reused, Timings = timings };
                var summary = await GribToZarr.ConvertAsync([.. paths.Select(p => p.Path)], runStore, options, cancellationToken: cancellationToken).ConfigureAwait(false);
                Phase("run zarr");
                written = summary.Metadata;
                fields = summary.Fields;
                values = summary.Values;
                groups.AddRange(summary.GroupNames);
                problems.AddRange(summary.Warnings);
                (bounds, from, to) = await WriteReferencesAsync(run, store, paths, problems, cancellationToken).ConfigureAwait(false);
                Phase("combined refs");
            }
            var metadata = written ?? await runStore.TryGetAsync(FileProcessor.Format(run.Outputs) == Zarr.Metadata.ZarrFormat.V3 && runFormat != "netcdf" ? "zarr.json" : ".zmetadata",
                cancellationToken).ConfigureAwait(false);
            if (metadata is null) zarrKey = null; // nothing could be combined (see problems)
            else
            {
                sha = SHA512.HashData(metadata);
                // Listed, not summed from the conversion: most chunks are store-side copies whose sizes we never held.
                await foreach (var o in runStore.ListAsync("", cancellationToken).ConfigureAwait(false)) length += o.Length;
            }
        }

        bool IsNetCdf(FinalizedFile f) => formats.TryGetValue(f.DataId, out var ff) && ff.IsNetCdf();
        // Staging areas are dropped only once a run Zarr holds their chunks (Outputs:KeepStaging false).
        var dropStaging = staging && !run.Outputs.KeepStaging && zarrKey is not null && runFormat == "grib2";
        var manifest = new
        {
            run = run.RunId.ToString(),
            generation = run.Generation,
            reason = run.Reason,
            completedAt = run.CompletedAt,
            format = runFormat,
            zarr = zarrKey,
            // What each GRIB2 file wrote (Outputs:FileZarr): its own Zarr ("full") or a staging area ("staging").
            fileZarr = staging ? FileZarrModes.Staging : FileZarrModes.Full,
            groups,
            fields,
            values,
            // GRIB2 runs: fields whose chunks were copied from the per-file chunks (staging areas or Zarrs) rather than decoded again.
            fieldsCopied = reused?.Copied,
            files = run.Indexed.Select(f => new
            {
                dataId = f.DataId,
                checksum = f.Checksum,
                key = f.Key,
                variable = f.Variable,
                step = f.Step,
                location = f.Location.AbsoluteUri,
                format = formats.TryGetValue(f.DataId, out var ff) ? ff.Name() : null,
                // Staging: a GRIB2 file has no Zarr of its own (NetCDF files always do); its staging area is listed.
                zarr = staging && !IsNetCdf(f) ? null : OutputLayout.FileZarr(run.RunId, OutputLayout.FileName(f.DataId)),
                // Listed while it is kept (Outputs:KeepStaging): a deleted one is gone once the run is notified.
                staging = staging && !IsNetCdf(f) && !dropStaging ? OutputLayout.FileStaging(run.RunId, OutputLayout.FileName(f.DataId)) : null,
                references = OutputLayout.FileReferences(run.RunId, OutputLayout.FileName(f.DataId)),
                // NetCDF has no .idx: its byte ranges are in the references.
                idx = formats.TryGetValue(f.DataId, out var fi) && fi.IsNetCdf() ? null : OutputLayout.FileIdx(run.RunId, OutputLayout.FileName(f.DataId)),
            }),
            failed = run.Failed.Select(f => new { dataId = f.DataId, checksum = f.Checksum, key = f.Key, location = f.Location.AbsoluteUri }),
            problems,
        };
        await store.PutAsync(OutputLayout.RunManifest(run.RunId), JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson), cancellationToken).ConfigureAwait(false);

        Phase("metadata+manifest");
        var notified = false;
        if (zarrKey is not null && notifier.Enabled && !string.IsNullOrWhiteSpace(run.Outputs.WnmTopic))
        {
            var parked = await notifier.NotifyRunAsync(run.RunId, run.Outputs, OutputStores.Href(store, zarrKey, PublicBaseUrl(run.Outputs)), length, sha,
                from, to, bounds, cancellationToken).ConfigureAwait(false);
            if (parked is not null) problems.Add("run notification parked: " + parked);
            notified = parked is null;
        }

        var triggered = run.Outputs.Trigger is { } trigger && await TriggerAsync(run, trigger, problems, cancellationToken).ConfigureAwait(false);
        Phase("notify+trigger");
        if (dropStaging)
        {
            var dropped = await DropStagingAsync(store, run, paths.Select(p => p.File), cancellationToken).ConfigureAwait(false);
            Phase($"drop staging ({dropped} objects)");
        }
        _log.LogInformation("Finalizing {Run} took: {Phases}; run Zarr phases: {Timings}", run.RunId, string.Join(", ", phases),
            string.Join(", ", timings.Phases.Select(p => $"{p.Phase} {p.Wall.TotalSeconds:0.00} s").Concat(timings.WorkerSteps.Select(w => $"[{w.Step} {w.Summed.TotalSeconds:0.00} s summed]"))));
        _log.LogInformation("Finalized {Run} generation {Generation}: {Files} files ({Format}), {Fields} fields ({Copied} copied from the per-file chunks), {Groups} groups{Problems}",
            run.RunId, run.Generation, paths.Count, runFormat, fields, reused?.Copied ?? 0, groups.Count, problems.Count > 0 ? "; " + string.Join("; ", problems) : "");
        localFiles.ForgetRun(run.RunId);
        return new FinalizedRun(run.RunId, run.Generation, paths.Count, fields, values, zarrKey, groups, problems, notified, triggered, reused?.Copied ?? 0);
    }

    private static string? PublicBaseUrl(OutputOptions outputs) => outputs.PublicBaseUrl;

    /// <summary>
    /// Deletes the files' staging areas (<c>Outputs:KeepStaging</c> false), after the run's products and notification:
    /// a failure here is logged, not the run's failure, and leaves only storage behind (the next finalization
    /// copies what is left and decodes the rest). A file processed again meanwhile (a refresh) may lose its new staging
    /// area too; its fields are then decoded at its finalization.
    /// </summary>
    private async Task<int> DropStagingAsync(IObjectStore store, RunFinalization run, IEnumerable<FinalizedFile> files, CancellationToken cancellationToken)
    {
        var dropped = 0;
        foreach (var file in files)
        {
            var area = OutputLayout.FileStaging(run.RunId, OutputLayout.FileName(file.DataId));
            try
            {
                var objects = await store.ListAllAsync(area + "/", cancellationToken).ConfigureAwait(false);
                await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
                    async (o, ct) => await store.DeleteAsync(o.Key, ct).ConfigureAwait(false)).ConfigureAwait(false);
                dropped += objects.Count;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogWarning(e, "Finalized {Run}: the staging area {Area} could not be deleted; it stays until the next finalization", run.RunId, area);
            }
        }
        return dropped;
    }

    /// <summary>Where a GRIB2 file's chunks may be: its staging area and its own Zarr, the dataset's present mode first.</summary>
    private static IReadOnlyList<string> PerFilePlaces(ModelRunId run, string name, bool staging) => staging
        ? [OutputLayout.FileStaging(run, name), OutputLayout.FileZarr(run, name)]
        : [OutputLayout.FileZarr(run, name), OutputLayout.FileStaging(run, name)];

    /// <summary>
    /// A NetCDF run: the files' references combined along their shared unlimited dimension (ocean_time, time), in
    /// time order whatever the arrival order, written as <c>refs/run.json</c> (pointing at the original URLs) and made
    /// real as the run Zarr (chunks copied as stored). Files whose pattern gives different <c>var</c> values
    /// (OFS <c>fields</c> and <c>stations</c>) are different products: one group and one reference set each
    /// (<c>run.zarr/VAR</c>, <c>refs/run.VAR.json</c>). What cannot be combined is a problem, not a failure.
    /// </summary>
    private static async Task<(int Fields, long Values, (double, double, double, double)? Bounds, DateTimeOffset? From, DateTimeOffset? To)> WriteNetCdfRunAsync(
        RunFinalization run, IObjectStore store, string zarrKey, List<(FinalizedFile File, string Path)> paths, List<string> groups, List<string> problems,
        CancellationToken cancellationToken)
    {
        var fields = 0;
        var values = 0L;
        (double W, double S, double E, double N)? bounds = null;
        DateTimeOffset? from = null, to = null;
        var products = paths.GroupBy(p => p.File.Variable ?? "", StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        foreach (var product in products)
        {
            // Named by the pattern's var alone (not by how many products arrived), so the interim references written
            // as files arrive and the final ones share their keys.
            var group = OutputLayout.NetCdfProduct(product.Key);
            try
            {
                var sets = new List<(string Url, string Path, ReferenceSet Refs, string? Unlimited)>();
                foreach (var (f, path) in product)
                {
                    var url = f.Location.AbsoluteUri;
                    using var file = NetCdf.NetCdfFile.Open(path);
                    var result = await NetCdf.References.NetCdfReferences.BuildAsync(file, url, cancellationToken: cancellationToken).ConfigureAwait(false);
                    foreach (var p in result.Problems) problems.Add($"{f.DataId}: variable '{p.Variable}': {p.Message.Replace(path, url, StringComparison.Ordinal)}");
                    sets.Add((url, path, result.References, file.Dimensions.FirstOrDefault(d => d.IsUnlimited)?.Name));
                    var c = NetCdf.NetCdfCoverage.Of(file);
                    if (c.Bounds is { } b)
                        bounds = bounds is { } a ? (Math.Min(a.W, b.West), Math.Min(a.S, b.South), Math.Max(a.E, b.East), Math.Max(a.N, b.North)) : b;
                    if (c.From is { } t0 && (from is null || t0 < from)) from = t0;
                    if (c.To is { } t1 && (to is null || t1 > to)) to = t1;
                }
                ReferenceSet combined;
                if (sets.Count == 1) combined = sets[0].Refs;
                else
                {
                    var dims = sets.Select(x => x.Unlimited).Distinct().ToList();
                    if (dims.Count != 1 || dims[0] is null)
                        throw new InvalidDataException($"the files share no single unlimited dimension to combine along (found {string.Join(", ", dims.Select(d => d ?? "none"))})");
                    var runRefs = new NetCdf.References.RunReferences(dims[0]!);
                    foreach (var x in sets) runRefs.Add(x.Url, x.Refs);
                    combined = runRefs.Build();
                }
                await store.PutAsync(OutputLayout.RunReferences(run.RunId, group.Length == 0 ? "" : group), combined.ToJson(), cancellationToken).ConfigureAwait(false);
                var local = sets.ToDictionary(x => x.Url, x => x.Path, StringComparer.Ordinal);
                var target = new PrefixedStore(store, group.Length == 0 ? zarrKey : StoreKey.Join(zarrKey, group));
                await NetCdf.NetCdfZarr.WriteAsync(combined, url => local.GetValueOrDefault(url), target, cancellationToken).ConfigureAwait(false);
                foreach (var key in combined.Keys.Where(k => k.EndsWith("/.zarray", StringComparison.Ordinal)))
                {
                    fields++;
                    var shape = System.Text.Json.Nodes.JsonNode.Parse(combined[key].InlineText)?["shape"]?.AsArray();
                    values += shape?.Aggregate(1L, (acc, n) => acc * n!.GetValue<long>()) ?? 0;
                }
                if (group.Length > 0) groups.Add(group);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or ArgumentException or IOException and not ObjectStoreException)
            {
                problems.Add($"run {(group.Length == 0 ? "Zarr" : "group '" + group + "'")} not written: {e.Message}");
            }
        }
        if (groups.Count > 0)
        {
            // Several products: a root group over them, consolidated.
            var writer = new Zarr.ZarrWriter(new PrefixedStore(store, zarrKey));
            await writer.WriteGroupAsync("", new System.Text.Json.Nodes.JsonObject { ["groups"] = string.Join(' ', groups) }, cancellationToken).ConfigureAwait(false);
            await writer.ConsolidateAsync("", cancellationToken).ConfigureAwait(false);
        }
        return (fields, values, bounds, from, to);
    }

    private static string RelPathOf(FinalizedFile f) => f.Location.AbsolutePath.TrimStart('/');

    private async Task<string?> FetchAgainAsync(ModelRunId run, FinalizedFile f, List<string> problems, CancellationToken cancellationToken)
    {
        var announcement = new Announcement("finalize", AnnouncementFormats.Manual, f.DataId, f.Location, RelPathOf(f), null, null, null,
            DateTimeOffset.UtcNow, "");
        var result = await fetcher.FetchAsync(new FetchRequest(announcement, run.Dataset.Value), cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case FetchResult.Cached c:
                localFiles.Remember(run, f.DataId, c.Path);
                return c.Path;
            case FetchResult.InMemory m:
                var path = Path.Combine(fetcher.Cache.Root, "finalize-" + m.Sha256Hex);
                await File.WriteAllBytesAsync(path, m.Data.ToArray(), cancellationToken).ConfigureAwait(false);
                return path;
            case FetchResult.Failed x:
                problems.Add($"{f.DataId}: left out of the run Zarr: fetching it again failed: {x.Reason}");
                return null;
            default:
                return null;
        }
    }

    private async Task<((double, double, double, double)? Bounds, DateTimeOffset? From, DateTimeOffset? To)> WriteReferencesAsync(RunFinalization run,
        IObjectStore store, List<(FinalizedFile File, string Path)> paths, List<string> problems, CancellationToken cancellationToken)
    {
        // Mapped, not read: only headers are looked at, and a run of hundreds of files must not be held on the heap.
        var records = new List<GribFieldRecord>();
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        var mapped = new List<MappedGribFile>();
        try
        {
            foreach (var (file, path) in paths)
            {
                var m = MappedGribFile.Open(path);
                mapped.Add(m);
                records.AddRange(GribFieldRecord.Of(m));
                origin[path] = file.Location.AbsoluteUri;
            }
            var cubes = CfgribMapping.Plan(records, CodecPipeline.None);
            foreach (var cube in cubes)
            {
                try
                {
                    var sets = cube.Fields.Select(f => FileProcessor.Resolved(GribReferences.ForMessage(cube, f), origin[f.File])).ToList();
                    var concat = new List<string> { "time", "step" };
                    if (cube.Layout.Axes.Any(a => a.Name == "number")) concat.Insert(0, "number");
                    var levelName = cube.Layout.Axes.FirstOrDefault(a => a.Name is not ("time" or "step" or "number"))?.Name;
                    if (levelName is not null) concat.Add(levelName);
                    var combined = ReferenceCombiner.Combine(sets, concat);
                    await store.PutAsync(OutputLayout.RunReferences(run.RunId, cube.Group), combined.ToJson(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException)
                {
                    problems.Add($"combined references for group '{cube.Group}' not written: {e.Message}");
                }
            }
            var box = records[0].Grid.GetBoundingBox();
            var valid = records.Select(r => DateTimeOffset.FromUnixTimeSeconds((long)(r.TimeSeconds + r.StepHours * 3600))).ToList();
            return (box is null ? null : (box.West, box.South, box.East, box.North), valid.Min(), valid.Max());
        }
        finally
        {
            foreach (var m in mapped) m.Dispose();
        }
    }

    private async Task<bool> TriggerAsync(RunFinalization run, WebhookOptions trigger, List<string> problems, CancellationToken cancellationToken)
    {
        var request = Webhooks.Build(run, trigger);
        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, request.Url)
            {
                Content = new StringContent(request.Body, Encoding.UTF8, "application/json"),
            };
            foreach (var (k, v) in request.Headers) message.Headers.TryAddWithoutValidation(k, v);
            if (request.TokenVariable is { } variable && _env(variable) is { Length: > 0 } token)
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                using var response = await webhooks.SendAsync(message, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return true;
                var status = (int)response.StatusCode;
                if (status is >= 400 and < 500 and not 408 and not 429)
                {
                    problems.Add($"trigger {request.Url.GetLeftPart(UriPartial.Path)} answered {status}: not retried");
                    return false;
                }
                _log.LogWarning("Trigger {Url} for {Run} answered {Status} (attempt {Attempt})", request.Url.GetLeftPart(UriPartial.Path), run.RunId, status, attempt);
            }
            catch (HttpRequestException e)
            {
                _log.LogWarning("Trigger {Url} for {Run} failed (attempt {Attempt}): {Error}", request.Url.GetLeftPart(UriPartial.Path), run.RunId, attempt, e.Message);
            }
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay += delay;
        }
        problems.Add($"trigger {request.Url.GetLeftPart(UriPartial.Path)} failed 5 times");
        return false;
    }
}
