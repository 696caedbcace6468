using System.Diagnostics.Metrics;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;

namespace Pipeline.Host.Ingest;

/// <summary>
/// Keeps the download cache bounded: every few minutes it deletes the files no run on this node still needs
/// (<see cref="LocalFiles"/>: runs not finalized yet) that were downloaded more than <c>Pipeline:Ingest:CacheRetention</c>
/// ago, and partial downloads abandoned for an hour. Without it every file ever fetched would stay on disk. A file
/// deleted while still wanted (its run's node restarted, say) is fetched again at finalization.
/// </summary>
public sealed class CacheHousekeeping(Fetcher fetcher, LocalFiles localFiles, TimeSpan retention, ILogger<CacheHousekeeping> logger) : BackgroundService
{
    public const string MeterName = "Pipeline.Cache";

    private readonly Meter _meter = new(MeterName, "0.1");
    private Counter<long>? _deleted;

    /// <summary>Between sweeps: half the retention, at most five minutes.</summary>
    public TimeSpan Interval { get; } = TimeSpan.FromTicks(Math.Min(retention.Ticks / 2, TimeSpan.FromMinutes(5).Ticks));

    /// <summary>One sweep now (what the timer runs).</summary>
    public CacheSweep SweepOnce()
    {
        var held = localFiles.Held();
        var sweep = fetcher.Cache.Sweep(retention, held.Contains);
        fetcher.Cache.DeleteStalePartials(TimeSpan.FromHours(1));
        if (sweep.Deleted > 0)
        {
            _deleted ??= _meter.CreateCounter<long>("pipeline.cache.deleted", "By", "Bytes of downloaded files deleted from the cache after their runs no longer needed them");
            _deleted.Add(sweep.Bytes);
            logger.LogInformation("Download cache: deleted {Files} files ({Bytes:0.0} MB) older than {Retention} that no run needs; kept {Kept} older files of runs not finalized yet",
                sweep.Deleted, sweep.Bytes / 1e6, retention, sweep.Kept);
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
                logger.LogWarning(e, "Download cache: a sweep of {Cache} failed; trying again in {Interval}", fetcher.Cache.Root, Interval);
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

    public override void Dispose()
    {
        _meter.Dispose();
        base.Dispose();
    }
}
