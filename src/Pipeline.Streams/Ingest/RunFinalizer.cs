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
using Pipeline.Streams.Fetch;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Storage;

namespace Pipeline.Streams.Ingest;

/// <summary>What finalizing a run wrote.</summary>
public sealed record FinalizedRun(ModelRunId RunId, int Generation, int Files, int Fields, long Values, string? ZarrKey, IReadOnlyList<string> Groups,
    IReadOnlyList<string> Problems, bool Notified, bool Triggered);

/// <summary>
/// Where the node finds the local copy of a file it processed (the fetch cache), so that finalization does not
/// download it again. Entries are hints: a missing or deleted path is fetched again.
/// </summary>
public sealed class LocalFiles
{
    private readonly ConcurrentDictionary<string, string> _paths = new(StringComparer.Ordinal);

    public void Remember(ModelRunId run, string dataId, string path) => _paths[run + "\n" + dataId] = path;

    public string? Find(ModelRunId run, string dataId) =>
        _paths.TryGetValue(run + "\n" + dataId, out var p) && File.Exists(p) ? p : null;

    public void ForgetRun(ModelRunId run)
    {
        var prefix = run + "\n";
        foreach (var k in _paths.Keys)
            if (k.StartsWith(prefix, StringComparison.Ordinal))
                _paths.TryRemove(k, out _);
    }
}

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
        var problems = new List<string>();
        var paths = new List<(FinalizedFile File, string Path)>();
        foreach (var f in run.Indexed)
        {
            var path = localFiles.Find(run.RunId, f.DataId) ?? await FetchAgainAsync(run.RunId, f, problems, cancellationToken).ConfigureAwait(false);
            if (path is not null) paths.Add((f, path));
        }

        string? zarrKey = null;
        var groups = new List<string>();
        int fields = 0;
        long values = 0;
        byte[] sha = SHA512.HashData(Array.Empty<byte>());
        long length = 0;
        (double, double, double, double)? bounds = null;
        DateTimeOffset? from = null, to = null;
        if (paths.Count > 0)
        {
            zarrKey = OutputLayout.RunZarr(run.RunId);
            var runStore = new PrefixedStore(store, zarrKey);
            var options = FileProcessor.Options(run.Outputs) with { Parallelism = Environment.ProcessorCount };
            var summary = await GribToZarr.ConvertAsync([.. paths.Select(p => p.Path)], runStore, options, cancellationToken: cancellationToken).ConfigureAwait(false);
            fields = summary.Fields;
            values = summary.Values;
            groups.AddRange(summary.GroupNames);
            problems.AddRange(summary.Warnings);
            var metadata = await runStore.TryGetAsync(FileProcessor.Format(run.Outputs) == Zarr.Metadata.ZarrFormat.V3 ? "zarr.json" : ".zmetadata", cancellationToken)
                .ConfigureAwait(false) ?? [];
            sha = SHA512.HashData(metadata);
            await foreach (var o in runStore.ListAsync("", cancellationToken).ConfigureAwait(false)) length += o.Length;
            (bounds, from, to) = await WriteReferencesAsync(run, store, paths, problems, cancellationToken).ConfigureAwait(false);
        }

        var manifest = new
        {
            run = run.RunId.ToString(),
            generation = run.Generation,
            reason = run.Reason,
            completedAt = run.CompletedAt,
            zarr = zarrKey,
            groups,
            fields,
            values,
            files = run.Indexed.Select(f => new
            {
                dataId = f.DataId,
                checksum = f.Checksum,
                key = f.Key,
                variable = f.Variable,
                step = f.Step,
                location = f.Location.AbsoluteUri,
                zarr = OutputLayout.FileZarr(run.RunId, OutputLayout.FileName(f.DataId)),
                references = OutputLayout.FileReferences(run.RunId, OutputLayout.FileName(f.DataId)),
                idx = OutputLayout.FileIdx(run.RunId, OutputLayout.FileName(f.DataId)),
            }),
            failed = run.Failed.Select(f => new { dataId = f.DataId, checksum = f.Checksum, key = f.Key, location = f.Location.AbsoluteUri }),
            problems,
        };
        await store.PutAsync(OutputLayout.RunManifest(run.RunId), JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson), cancellationToken).ConfigureAwait(false);

        var notified = false;
        if (zarrKey is not null && notifier.Enabled && !string.IsNullOrWhiteSpace(run.Outputs.WnmTopic))
        {
            var parked = await notifier.NotifyRunAsync(run.RunId, run.Outputs, OutputStores.Href(store, zarrKey, PublicBaseUrl(run.Outputs)), length, sha,
                from, to, bounds, cancellationToken).ConfigureAwait(false);
            if (parked is not null) problems.Add("run notification parked: " + parked);
            notified = parked is null;
        }

        var triggered = run.Outputs.Trigger is { } trigger && await TriggerAsync(run, trigger, problems, cancellationToken).ConfigureAwait(false);
        _log.LogInformation("Finalized {Run} generation {Generation}: {Files} files, {Fields} fields, {Groups} groups{Problems}", run.RunId, run.Generation,
            paths.Count, fields, groups.Count, problems.Count > 0 ? "; " + string.Join("; ", problems) : "");
        localFiles.ForgetRun(run.RunId);
        return new FinalizedRun(run.RunId, run.Generation, paths.Count, fields, values, zarrKey, groups, problems, notified, triggered);
    }

    private static string? PublicBaseUrl(OutputOptions outputs) => outputs.PublicBaseUrl;

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
        var records = new List<GribFieldRecord>();
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, path) in paths)
        {
            records.AddRange(GribFieldRecord.ReadFile(path));
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
