using System.Diagnostics.Metrics;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;

namespace Pipeline.Host.Ingest;

/// <summary>
/// Deletes what a node keeps on local disk only for a while (downloads, packaging inputs) once it is older than a
/// retention: one sweep every half retention, at most every five minutes, from start until the node stops. What was
/// deleted is logged and counted (<c>pipeline_cache_deleted_bytes{cache}</c>).
/// </summary>
public abstract class PeriodicSweep(string cache, TimeSpan retention, ILogger logger) : BackgroundService
{
    public const string MeterName = "Pipeline.Cache";

    private static readonly Meter CacheMeter = new(MeterName, "0.1");
    private static readonly Counter<long> Deleted = CacheMeter.CreateCounter<long>("pipeline.cache.deleted", "By",
        "Bytes deleted from local caches (downloads, packaging inputs) once nothing needed them");

    public TimeSpan Retention { get; } = retention;

    /// <summary>Between sweeps: half the retention, at most five minutes.</summary>
    public TimeSpan Interval { get; } = TimeSpan.FromTicks(Math.Min(retention.Ticks / 2, TimeSpan.FromMinutes(5).Ticks));

    /// <summary>Deletes what is older than <see cref="Retention"/> and not needed.</summary>
    protected abstract CacheSweep Sweep();

    /// <summary>One sweep now (what the timer runs).</summary>
    public CacheSweep SweepOnce()
    {
        var sweep = Sweep();
        if (sweep.Deleted > 0)
        {
            Deleted.Add(sweep.Bytes, new KeyValuePair<string, object?>("cache", cache));
            logger.LogInformation("{Cache}: deleted {Files} files ({Bytes:0.0} MB) older than {Retention} that nothing needs; kept {Kept} older files still needed",
                cache, sweep.Deleted, sweep.Bytes / 1e6, Retention, sweep.Kept);
        }
        return sweep;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                SweepOnce();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning(e, "{Cache}: a sweep failed; trying again in {Interval}", cache, Interval);
            }
            try
            {
                await Task.Delay(Interval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>
/// Keeps the download cache bounded: deletes the files no run on this node still needs (<see cref="LocalFiles"/>:
/// runs not finalized yet) that were downloaded more than <c>Pipeline:Ingest:CacheRetention</c> ago, and partial
/// downloads abandoned for an hour. Without it every file ever fetched would stay on disk. A file deleted while still
/// wanted is fetched again at finalization. A file stays held for at most <c>Pipeline:Ingest:CacheHoldLimit</c> (a
/// run finalized on another node of the cluster is never forgotten on this one otherwise).
/// </summary>
public sealed class CacheHousekeeping(Fetcher fetcher, LocalFiles localFiles, TimeSpan retention, TimeSpan holdLimit, ILogger<CacheHousekeeping> logger)
    : PeriodicSweep("download cache", retention, logger)
{
    protected override CacheSweep Sweep()
    {
        var held = localFiles.Held(holdLimit);
        var sweep = fetcher.Cache.Sweep(Retention, held.Contains);
        fetcher.Cache.DeleteStalePartials(TimeSpan.FromHours(1));
        return sweep;
    }
}
