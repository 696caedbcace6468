using System.Collections.Concurrent;
using System.Threading.Channels;
using Pipeline.Actors.Jobs;

namespace Pipeline.Host.Packaging;

/// <summary>
/// The node's packaging intake: a bounded channel the job entities offer to (never blocking; full means
/// back-pressure and the entity offers again), and the cancellation handles of the attempts running here.
/// </summary>
public sealed class PackageJobQueue(int capacity) : IPackageJobIntake
{
    private readonly Channel<PackageJobWork> _channel = Channel.CreateBounded<PackageJobWork>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _cancelled = new(StringComparer.Ordinal);

    public ChannelReader<PackageJobWork> Reader => _channel.Reader;

    public bool TryOffer(PackageJobWork work)
    {
        _cancelled.TryRemove(work.JobId, out _);
        return _channel.Writer.TryWrite(work);
    }

    public void Cancel(string jobId)
    {
        _cancelled[jobId] = 0;
        if (_running.TryGetValue(jobId, out var cts)) cts.Cancel();
    }

    /// <summary>Registers a running attempt; the token fires on <see cref="Cancel"/> or <paramref name="stopping"/>. Null when the job was cancelled while queued.</summary>
    internal CancellationTokenSource? Start(PackageJobWork work, CancellationToken stopping)
    {
        if (_cancelled.ContainsKey(work.JobId)) return null;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (_running.TryGetValue(work.JobId, out var previous)) previous.Cancel();
        _running[work.JobId] = cts;
        return cts;
    }

    internal void Finish(PackageJobWork work, CancellationTokenSource cts)
    {
        _running.TryRemove(new KeyValuePair<string, CancellationTokenSource>(work.JobId, cts));
        cts.Dispose();
    }

    internal bool WasCancelled(string jobId) => _cancelled.ContainsKey(jobId);
}
