namespace Pipeline.Host.Tests.Demo;

/// <summary>
/// A clock that moves only when told: <see cref="Advance"/> or <see cref="FireNext"/>. Its timers (which
/// <c>Task.Delay(TimeSpan, TimeProvider)</c> uses) fire when the clock reaches them.
/// </summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new ManualTimer(this, callback, state);
        t.Change(dueTime, period);
        return t;
    }

    /// <summary>Moves the clock forward, firing every timer that comes due.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate) target = _now + by;
        while (FireNext(target)) { }
        lock (_gate)
            if (_now < target) _now = target;
    }

    /// <summary>Moves the clock to the earliest pending timer (not past <paramref name="limit"/>) and fires it.</summary>
    public bool FireNext(DateTimeOffset? limit = null)
    {
        ManualTimer? next;
        lock (_gate)
        {
            next = _timers.Where(t => t.DueAt is not null).MinBy(t => t.DueAt);
            if (next is null || (limit is { } l && next.DueAt > l)) return false;
            if (next.DueAt > _now) _now = next.DueAt!.Value;
            next.DueAt = next.Period > TimeSpan.Zero ? _now + next.Period : null;
        }
        next.Callback(next.State);
        return true;
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public DateTimeOffset? DueAt { get; set; }
        public TimeSpan Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                if (!clock._timers.Contains(this)) clock._timers.Add(this);
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
            }
            return true;
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
                DueAt = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
