using Akka.Actor;
using Akka.Hosting;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.Jobs;
using Pipeline.Packaging;
using Pipeline.Packaging.Boundaries;
using Pipeline.Packaging.Processing;
using Pipeline.Streams.Ingest;
using Pipeline.Zarr.Storage;

namespace Pipeline.Host.Packaging;

/// <summary>
/// Runs the attempts the job entities hand to this node, <see cref="PackagingOptions.Parallelism"/> at a time: per
/// run of the job, fetch the inputs (waiting for files not there yet), build the package into the packaging store,
/// and report progress (throttled) and the outcome to the job entity. An entity answering "stop" (cancelled, or a
/// newer attempt exists) cancels the attempt.
/// </summary>
public sealed class PackageRunner(
    PackageJobQueue queue,
    RunInputs inputs,
    PackagingStore store,
    PackagingOptions options,
    IRequiredActor<PackageJobRegion> jobs,
    ILogger<PackageRunner> log) : BackgroundService
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private TimeSpan ProgressInterval => options.ProgressInterval;

    private ILogger Log => log;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Parallel.ForEachAsync(queue.Reader.ReadAllAsync(stoppingToken), new ParallelOptions
        {
            MaxDegreeOfParallelism = options.Parallelism,
            CancellationToken = stoppingToken,
        }, async (work, ct) =>
        {
            try
            {
                await RunAsync(work, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogError(e, "Packaging job {JobId} attempt {Attempt}: unexpected failure", work.JobId, work.Attempt);
            }
        }).ConfigureAwait(false);
    }

    private async Task RunAsync(PackageJobWork work, CancellationToken stopping)
    {
        var cts = queue.Start(work, stopping);
        if (cts is null) return;
        try
        {
            var reporter = new Reporter(this, work, cts);
            var outputs = new List<PackageJobOutput>();
            var boundary = work.Spec.BoundaryGeometry is { } g ? GeoJsonBoundaries.Parse(g, work.Spec.Boundary)[0] : null;
            foreach (var runText in work.Spec.Runs)
            {
                var run = ModelRunId.Parse(runText);
                var package = run.Dataset.Value;
                var files = await inputs.ListAsync(run, cts.Token).ConfigureAwait(false)
                            ?? throw new PackagingException($"run {run} has no manifest (not finalized, or its store is gone)");
                var local = new List<PackageInput>();
                for (var i = 0; i < files.Count; i++)
                {
                    local.Add(await FetchWaitingAsync(run, files[i], reporter, package, i, files.Count, cts.Token).ConfigureAwait(false));
                    await reporter.ReportAsync(new PackageJobStep(package, "inputs", i + 1, files.Count, files[i].DataId), force: i == files.Count - 1).ConfigureAwait(false);
                }
                var request = new PackageRequest(work.JobId + "-" + package, package, runText, boundary,
                    new FieldSelection(work.Spec.Variables, work.Spec.Levels, work.Spec.Match, work.Spec.FromStep, work.Spec.ToStep),
                    work.Spec.Clip, work.Spec.Format == "grib2" ? PackageFormat.Grib2 : PackageFormat.Zarr)
                {
                    LicenseName = options.LicenseName,
                    LicenseTitle = options.LicenseTitle,
                    LicensePath = options.LicensePath,
                    Trigger = work.Spec.Trigger,
                };
                var prefix = PackagingStore.Prefix(work.JobId, package);
                var progress = new SyncProgress(p => reporter.Post(new PackageJobStep(package, p.Step, p.Done, p.Total, p.Detail)));
                var result = await Task.Run(() => PackageBuilder.BuildAsync(request, local, store.Store, prefix, progress, cts.Token), cts.Token).ConfigureAwait(false);
                await reporter.FlushAsync().ConfigureAwait(false);
                outputs.Add(new PackageJobOutput(runText, result.Prefix, result.DataPackageKey, store.Store.Location.TrimEnd('/') + "/" + result.DataPackageKey,
                    store.Href(result.DataPackageKey), result.Fields, result.Cells, result.InsideCells, result.Bytes, result.Resources.Count, result.Warnings));
            }
            await AckAsync(new ReportPackageJobSucceeded(work.JobId, work.Attempt, outputs)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            log.LogInformation("Packaging job {JobId} attempt {Attempt} stopped", work.JobId, work.Attempt);
        }
        catch (Exception e) when (e is PackagingException or BoundaryException or InputUnavailableException or InvalidDataException)
        {
            await AckAsync(new ReportPackageJobFailed(work.JobId, work.Attempt, e.Message)).ConfigureAwait(false);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            log.LogError(e, "Packaging job {JobId} attempt {Attempt} failed", work.JobId, work.Attempt);
            await AckAsync(new ReportPackageJobFailed(work.JobId, work.Attempt, $"{e.GetType().Name}: {e.Message}")).ConfigureAwait(false);
        }
        finally
        {
            queue.Finish(work, cts);
        }
    }

    private async Task<PackageInput> FetchWaitingAsync(ModelRunId run, RunInputFile file, Reporter reporter, string package, int index, int count, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + options.InputWaitLimit;
        while (true)
        {
            try
            {
                return await inputs.FetchAsync(run, file, ct).ConfigureAwait(false);
            }
            catch (InputUnavailableException e) when (e.Retryable && DateTimeOffset.UtcNow < deadline)
            {
                await reporter.ReportAsync(new PackageJobStep(package, "inputs", index, count, "waiting: " + e.Message), force: true).ConfigureAwait(false);
                await Task.Delay(options.InputRetryDelay, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<PackageJobAck?> AckAsync(IPackageJobCommand report)
    {
        try
        {
            return await jobs.ActorRef.Ask<PackageJobAck>(report, AskTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            log.LogWarning("Packaging job {JobId}: the entity did not answer {Report}", report.JobId, report.GetType().Name);
            return null;
        }
    }

    /// <summary>Throttled progress reports; an answer "stop" cancels the attempt.</summary>
    private sealed class Reporter(PackageRunner runner, PackageJobWork work, CancellationTokenSource cts)
    {
        private readonly object _gate = new();
        private PackageJobStep? _pending;
        private DateTimeOffset _last = DateTimeOffset.MinValue;
        private Task _inFlight = Task.CompletedTask;

        public void Post(PackageJobStep step)
        {
            lock (_gate)
            {
                _pending = step;
                if (DateTimeOffset.UtcNow - _last < runner.ProgressInterval || !_inFlight.IsCompleted) return;
                _last = DateTimeOffset.UtcNow;
                _pending = null;
                _inFlight = SendAsync(step);
            }
        }

        public async Task ReportAsync(PackageJobStep step, bool force)
        {
            Task send;
            lock (_gate)
            {
                if (!force && DateTimeOffset.UtcNow - _last < runner.ProgressInterval)
                {
                    _pending = step;
                    return;
                }
                _last = DateTimeOffset.UtcNow;
                _pending = null;
                send = _inFlight = _inFlight.ContinueWith(_ => SendAsync(step)).Unwrap();
            }
            await send.ConfigureAwait(false);
            cts.Token.ThrowIfCancellationRequested();
        }

        public async Task FlushAsync()
        {
            PackageJobStep? step;
            lock (_gate)
            {
                step = _pending;
                _pending = null;
            }
            await _inFlight.ConfigureAwait(false);
            if (step is not null) await SendAsync(step).ConfigureAwait(false);
            cts.Token.ThrowIfCancellationRequested();
        }

        private async Task SendAsync(PackageJobStep step)
        {
            var ack = await runner.AckAsync(new ReportPackageJobProgress(work.JobId, work.Attempt, step)).ConfigureAwait(false);
            if (ack is { Continue: false })
            {
                runner.Log.LogInformation("Packaging job {JobId} attempt {Attempt}: the entity says stop", work.JobId, work.Attempt);
                await cts.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Progress delivered on the reporting thread (not posted to a synchronization context).</summary>
    private sealed class SyncProgress(Action<PackageProgress> report) : IProgress<PackageProgress>
    {
        public void Report(PackageProgress value) => report(value);
    }
}

/// <summary>Where packages go: <c>packages/{jobId}/{dataset}/</c> in the packaging store.</summary>
public sealed class PackagingStore(IObjectStore store, bool servedLocally)
{
    public IObjectStore Store { get; } = store;

    public static string Prefix(string jobId, string dataset) => StoreKey.Join("packages", jobId, dataset);

    /// <summary>The node-relative URL of an object when the store is the node's local default store (served at <c>/store/</c>).</summary>
    public string? Href(string key) => servedLocally ? "/store/" + key : null;
}
