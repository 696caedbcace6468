using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.ModelRuns;
using Pipeline.Streams.Fetch;
using Pipeline.Zarr.Storage;

namespace Pipeline.Streams.Ingest;

/// <summary>How much the node's processing graph does at once.</summary>
public sealed record IngestSettings
{
    /// <summary>Files being downloaded at once (per-host limits still apply inside the fetcher).</summary>
    public int FetchParallelism { get; init; } = 32;

    /// <summary>Files being decoded and written at once (each is CPU-bound: about the number of cores).</summary>
    public int DecodeParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Runs being finalized at once.</summary>
    public int FinalizeParallelism { get; init; } = 1;
}

/// <summary>The milestones of one file through the graph, for observers (progress displays, tests).</summary>
public abstract record IngestEvent(FileWork Work)
{
    public sealed record Fetched(FileWork Work, long Bytes, int Attempts) : IngestEvent(Work);

    public sealed record Indexed(FileWork Work, ProcessedFile File, TimeSpan Latency) : IngestEvent(Work);

    public sealed record Failed(FileWork Work, string Reason, bool Retryable) : IngestEvent(Work);

    public sealed record RunFinalized(FinalizedRun Run) : IngestEvent((FileWork?)null!);
}

/// <summary>
/// The node's processing graph: admitted files from the <see cref="FileWorkQueue"/> are fetched, decoded and written
/// (<see cref="FileProcessor"/>), notified (<see cref="Wis2Notifier"/>) and reported back to their ModelRun entity;
/// complete runs from the <see cref="RunFinalizationQueue"/> are finalized (<see cref="RunFinalizer"/>) and confirmed.
/// Every stage is bounded (SelectAsyncUnordered with a fixed parallelism over a bounded channel), so a slow store
/// slows decoding, which slows fetching, which leaves work in the entities' pending queues: nothing piles up in memory.
/// A file that is not published yet (404) is not retried here: it goes back to its entity as a retryable failure and
/// waits on the entity's timer, holding no place in the graph.
/// </summary>
public sealed class IngestGraph
{
    public const string MeterName = "Pipeline.Ingest";
    private const int MaxFinalizeAttempts = 5;
    private static readonly Meter Meter = new(MeterName, "0.1");
    private static readonly Counter<long> FilesIndexed = Meter.CreateCounter<long>("pipeline.ingest.files.indexed", "{file}", "Files decoded, written and notified");
    private static readonly Counter<long> FilesFailed = Meter.CreateCounter<long>("pipeline.ingest.files.failed", "{file}", "File attempts that failed, by dataset and retryable");
    private static readonly Counter<long> ValuesDecoded = Meter.CreateCounter<long>("pipeline.ingest.values", "{value}", "Grid point values decoded");
    private static readonly Counter<long> BytesFetched = Meter.CreateCounter<long>("pipeline.ingest.bytes.fetched", "By", "Bytes of files fetched for processing");
    private static readonly Counter<long> RunsFinalized = Meter.CreateCounter<long>("pipeline.ingest.runs.finalized", "{run}", "Runs finalized");
    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("pipeline.ingest.latency", "s", "Announcement publication to file notified");

    private readonly FileWorkQueue _work;
    private readonly RunFinalizationQueue _finals;
    private readonly Fetcher _fetcher;
    private readonly FileProcessor _processor;
    private readonly RunFinalizer _finalizer;
    private readonly Wis2Notifier _notifier;
    private readonly LocalFiles _localFiles;
    private readonly DatasetCatalog _catalog;
    private readonly IngestSettings _settings;
    private readonly ILogger _log;
    private readonly TimeProvider _clock;

    public IngestGraph(FileWorkQueue work, RunFinalizationQueue finals, Fetcher fetcher, FileProcessor processor, RunFinalizer finalizer,
        Wis2Notifier notifier, LocalFiles localFiles, DatasetCatalog catalog, IngestSettings settings, ILogger? logger = null, TimeProvider? clock = null)
    {
        _work = work;
        _finals = finals;
        _fetcher = fetcher;
        _processor = processor;
        _finalizer = finalizer;
        _notifier = notifier;
        _localFiles = localFiles;
        _catalog = catalog;
        _settings = settings;
        _log = logger ?? NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
        Meter.CreateObservableGauge("pipeline.ingest.queue.depth", () => new[]
        {
            new Measurement<int>(_work.Depth, new KeyValuePair<string, object?>("queue", "files")),
            new Measurement<int>(_finals.Depth, new KeyValuePair<string, object?>("queue", "runs")),
        }, "{item}", "Items waiting in the node's work queues");
    }

    /// <summary>Observers of every milestone (called on graph threads: keep it cheap and thread-safe).</summary>
    public event Action<IngestEvent>? Milestone;

    public long Indexed => Interlocked.Read(ref _indexed);

    public long Failed => Interlocked.Read(ref _failed);

    public long Values => Interlocked.Read(ref _values);

    public long InFlight => Interlocked.Read(ref _inFlight);

    private long _indexed, _failed, _values, _inFlight;

    /// <summary>
    /// Runs the graph until <paramref name="cancellationToken"/> is cancelled. Reports go to
    /// <paramref name="modelRuns"/> (the ModelRun shard region or its local stand-in).
    /// </summary>
    public Task RunAsync(IActorRef modelRuns, IMaterializer materializer, CancellationToken cancellationToken)
    {
        // Fetch places are shared fairly between hosts: a slow or stalled host keeps at most twice its connection
        // limit and at most half of all places in flight, never every place (see FairDispatch).
        var perHostCap = Math.Max(1, _settings.FetchParallelism / 2);
        var fetched = FairDispatch.Run(_work.Reader, w => HostOf(w, authority: true),
            w => Math.Min(perHostCap, 2 * _fetcher.Settings.LimitsFor(HostOf(w, authority: false), w.RunId.Dataset.Value).MaxConnections),
            _settings.FetchParallelism, FairBuffer, w => FetchAsync(w, modelRuns, cancellationToken), cancellationToken);
        var files = ChannelSource.FromReader(fetched)
            .ViaMaterialized(KillSwitches.Single<(FileWork Work, string? Path)>(), Keep.Right)
            .Where(x => x.Path is not null)
            .SelectAsyncUnordered(_settings.DecodeParallelism, x => ProcessAsync(x.Work, x.Path!, modelRuns, cancellationToken))
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Both)
            .Run(materializer);
        var runs = ChannelSource.FromReader(_finals.Reader)
            .ViaMaterialized(KillSwitches.Single<RunFinalization>(), Keep.Right)
            .SelectAsyncUnordered(_settings.FinalizeParallelism, r => FinalizeAsync(r, modelRuns, cancellationToken))
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Both)
            .Run(materializer);
        cancellationToken.Register(() =>
        {
            files.Item1.Shutdown();
            runs.Item1.Shutdown();
        });
        return Task.WhenAll(files.Item2, runs.Item2);
    }

    /// <summary>Admitted files read ahead of the fetch places, sorted by host; a bound on memory, not on throughput.</summary>
    private const int FairBuffer = 4096;

    private static string HostOf(FileWork work, bool authority) =>
        work.Announcement.Location is { IsAbsoluteUri: true } u ? authority ? u.Authority : u.Host : "";

    private async Task<(FileWork Work, string? Path)> FetchAsync(FileWork work, IActorRef modelRuns, CancellationToken ct)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            var result = await _fetcher.FetchAsync(new FetchRequest(work.Announcement, work.RunId.Dataset.Value), ct).ConfigureAwait(false);
            switch (result)
            {
                case FetchResult.Cached c:
                    modelRuns.Tell(new ReportFileFetched(work.RunId, work.File, c.Size));
                    BytesFetched.Add(c.Size, Tag(work));
                    Milestone?.Invoke(new IngestEvent.Fetched(work, c.Size, c.Attempts));
                    // Held from now until the run is finalized: cache housekeeping leaves it alone however long it waits.
                    _localFiles.Remember(work.RunId, work.File.DataId, c.Path);
                    return (work, c.Path);
                case FetchResult.InMemory m:
                    // Small files are verified in memory; the decoder and the finalizer read files, so keep it in the cache folder.
                    var path = Path.Combine(_fetcher.Cache.Root, "mem-" + m.Sha256Hex);
                    if (!File.Exists(path))
                    {
                        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
                        await File.WriteAllBytesAsync(tmp, m.Data.ToArray(), ct).ConfigureAwait(false);
                        File.Move(tmp, path, overwrite: true);
                    }
                    modelRuns.Tell(new ReportFileFetched(work.RunId, work.File, m.Size));
                    BytesFetched.Add(m.Size, Tag(work));
                    Milestone?.Invoke(new IngestEvent.Fetched(work, m.Size, m.Attempts));
                    _localFiles.Remember(work.RunId, work.File.DataId, path);
                    return (work, path);
                case FetchResult.Failed { Error: FetchErrorClass.Cancelled }:
                    Interlocked.Decrement(ref _inFlight);
                    return (work, null); // shutting down: the entity re-drives it on this or another node
                case FetchResult.Failed x:
                    var retryable = x.Error is FetchErrorClass.NotYetPublished or FetchErrorClass.Transient;
                    Fail(work, modelRuns, x.Reason, retryable);
                    return (work, null);
                default:
                    throw new UnreachableException();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _inFlight);
            return (work, null);
        }
    }

    private async Task<NotUsed> ProcessAsync(FileWork work, string path, IActorRef modelRuns, CancellationToken ct)
    {
        try
        {
            var outputs = _catalog.TryGet(work.RunId.Dataset, out var d) ? d.Options.Outputs : new OutputOptions();
            // Decoding and compressing are CPU-bound: off the stream's dispatcher.
            var file = await Task.Run(() => _processor.ProcessAsync(work, path, outputs, ct), ct).ConfigureAwait(false);
            var store = _processor.Stores.Get(outputs.Store);
            var parked = await _notifier.NotifyFileAsync(work.RunId, outputs, file, OutputStores.Href(store, file.ProductKey, outputs.PublicBaseUrl), ct,
                work.Announcement.Location).ConfigureAwait(false);
            if (parked is not null) _log.LogWarning("Notification for {DataId} of {Run} parked: {Reason}", work.File.DataId, work.RunId, parked);
            modelRuns.Tell(new ReportFileIndexed(work.RunId, work.File, file.Fields));
            var latency = _clock.GetUtcNow() - work.Announcement.PublishedAt;
            Interlocked.Increment(ref _indexed);
            Interlocked.Add(ref _values, file.Values);
            Interlocked.Decrement(ref _inFlight);
            FilesIndexed.Add(1, Tag(work));
            ValuesDecoded.Add(file.Values, Tag(work));
            Latency.Record(Math.Max(0, latency.TotalSeconds), Tag(work));
            Milestone?.Invoke(new IngestEvent.Indexed(work, file, latency));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _inFlight);
        }
        catch (FileRejectedException e)
        {
            Fail(work, modelRuns, e.Message, retryable: false);
        }
        catch (Exception e) when (e is ObjectStoreException or IOException or InvalidStoreKeyException or HttpRequestException)
        {
            Fail(work, modelRuns, $"{work.Announcement.Location}: writing the outputs failed: {e.Message}", retryable: e is not InvalidStoreKeyException);
        }
        catch (Exception e)
        {
            _log.LogError(e, "Processing {DataId} of {Run} failed unexpectedly", work.File.DataId, work.RunId);
            Fail(work, modelRuns, $"{work.Announcement.Location}: unexpected {e.GetType().Name}: {e.Message}", retryable: true);
        }
        return NotUsed.Instance;
    }

    private void Fail(FileWork work, IActorRef modelRuns, string reason, bool retryable)
    {
        modelRuns.Tell(new ReportFileFailed(work.RunId, work.File, reason, retryable));
        Interlocked.Increment(ref _failed);
        Interlocked.Decrement(ref _inFlight);
        FilesFailed.Add(1, Tag(work), new KeyValuePair<string, object?>("retryable", retryable));
        Milestone?.Invoke(new IngestEvent.Failed(work, reason, retryable));
        _log.LogInformation("{DataId} of {Run}: {Outcome}: {Reason}", work.File.DataId, work.RunId, retryable ? "will retry" : "failed", reason);
    }

    private async Task<NotUsed> FinalizeAsync(RunFinalization run, IActorRef modelRuns, CancellationToken ct)
    {
        var delay = TimeSpan.FromSeconds(2);
        for (var attempt = 1; attempt <= MaxFinalizeAttempts; attempt++)
        {
            try
            {
                var done = await Task.Run(() => _finalizer.FinalizeAsync(run, ct), ct).ConfigureAwait(false);
                modelRuns.Tell(new ConfirmRunFinalized(run.RunId, run.Generation));
                RunsFinalized.Add(1, new KeyValuePair<string, object?>("dataset", run.RunId.Dataset.Value));
                Milestone?.Invoke(new IngestEvent.RunFinalized(done));
                return NotUsed.Instance;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return NotUsed.Instance;
            }
            catch (Exception e)
            {
                // Not confirmed: after the last attempt the entity offers it again when it next recovers.
                _log.LogError(e, "Finalizing {Run} generation {Generation} failed (attempt {Attempt} of {Attempts})", run.RunId, run.Generation,
                    attempt, MaxFinalizeAttempts);
            }
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return NotUsed.Instance;
            }
            delay += delay;
        }
        return NotUsed.Instance;
    }

    private static KeyValuePair<string, object?> Tag(FileWork work) => new("dataset", work.RunId.Dataset.Value);
}
