namespace Pipeline.Streams.Fetch;

/// <summary>
/// The politeness gate of one host: a request-rate token bucket, a connection limit whose free slots go to urgent
/// waiters before bulk ones (two lanes), and an optional bandwidth bucket.
/// </summary>
internal sealed class HostGate
{
    private readonly TokenBucket _requests;
    private readonly PrioritySlots _connections;
    private readonly TokenBucket? _bandwidth;

    public HostGate(string host, HostLimits limits, TimeProvider time)
    {
        Host = host;
        Limits = limits;
        _requests = new TokenBucket(limits.RequestsPerSecond, limits.Burst, time);
        _connections = new PrioritySlots(limits.MaxConnections);
        _bandwidth = limits.BandwidthBytesPerSecond is { } bps
            ? new TokenBucket(bps, Math.Max(bps / 4, 64 * 1024), time)
            : null;
    }

    public string Host { get; }
    public HostLimits Limits { get; }

    /// <summary>Waits for a connection slot (urgent first), then for a request token. Dispose the lease to free the slot.</summary>
    public async ValueTask<Lease> EnterAsync(bool urgent, CancellationToken ct)
    {
        await _connections.WaitAsync(urgent, ct).ConfigureAwait(false);
        try
        {
            await _requests.TakeAsync(1, ct).ConfigureAwait(false);
        }
        catch
        {
            _connections.Release();
            throw;
        }
        return new Lease(this);
    }

    /// <summary>Accounts <paramref name="bytes"/> of body against the bandwidth cap, waiting if it is exceeded.</summary>
    public ValueTask ConsumeBandwidthAsync(int bytes, CancellationToken ct) =>
        _bandwidth is null ? ValueTask.CompletedTask : _bandwidth.TakeAsync(bytes, ct);

    internal int InUse => _connections.InUse;

    internal int Waiting => _connections.Waiting;

    public readonly struct Lease(HostGate gate) : IDisposable
    {
        public void Dispose() => gate._connections.Release();
    }
}

/// <summary>
/// A reservation token bucket: a taker that finds too few tokens reserves them (the balance goes negative) and waits
/// exactly as long as the refill takes. Fair in arrival order, no polling.
/// </summary>
internal sealed class TokenBucket(double ratePerSecond, double burst, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly double _capacity = burst;
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    public ValueTask TakeAsync(double amount, CancellationToken ct)
    {
        TimeSpan wait;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(_capacity, _tokens + time.GetElapsedTime(_last, now).TotalSeconds * ratePerSecond);
            _last = now;
            _tokens -= amount;
            if (_tokens >= 0) return ValueTask.CompletedTask;
            wait = TimeSpan.FromSeconds(-_tokens / ratePerSecond);
        }
        return new ValueTask(Task.Delay(wait, time, ct));
    }
}

/// <summary>A counting semaphore with two waiter queues; a released slot goes to the oldest urgent waiter first.</summary>
internal sealed class PrioritySlots(int count)
{
    private readonly Lock _lock = new();
    private readonly int _slots = count;
    private readonly Queue<TaskCompletionSource> _urgent = new();
    private readonly Queue<TaskCompletionSource> _bulk = new();
    private int _free = count;

    public int InUse
    {
        get { lock (_lock) return _slots - _free; }
    }

    public int Waiting
    {
        get { lock (_lock) return _urgent.Count(t => !t.Task.IsCompleted) + _bulk.Count(t => !t.Task.IsCompleted); }
    }

    public Task WaitAsync(bool urgent, CancellationToken ct)
    {
        TaskCompletionSource tcs;
        lock (_lock)
        {
            if (_free > 0 && _urgent.Count == 0 && (urgent || _bulk.Count == 0))
            {
                _free--;
                return Task.CompletedTask;
            }
            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (urgent ? _urgent : _bulk).Enqueue(tcs);
        }
        if (!ct.CanBeCanceled) return tcs.Task;
        var reg = ct.Register(static s => ((TaskCompletionSource)s!).TrySetCanceled(), tcs);
        return WithCancellation(tcs, reg);
    }

    private async Task WithCancellation(TaskCompletionSource tcs, CancellationTokenRegistration reg)
    {
        try
        {
            await tcs.Task.ConfigureAwait(false);
        }
        finally
        {
            await reg.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            // A cancelled waiter's TrySetResult fails: skip it and hand the slot to the next one.
            while (_urgent.TryDequeue(out var u))
                if (u.TrySetResult()) return;
            while (_bulk.TryDequeue(out var b))
                if (b.TrySetResult()) return;
            _free++;
        }
    }
}
