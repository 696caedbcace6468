using Pipeline.Streams.Fetch;
using Xunit;

namespace Pipeline.Streams.Tests.Fetch;

public sealed class HostGateSpecs
{
    [Fact]
    public async Task Should_give_a_freed_connection_to_an_urgent_waiter_before_older_bulk_waiters()
    {
        var slots = new PrioritySlots(1);
        await slots.WaitAsync(urgent: false, CancellationToken.None);
        var bulk1 = slots.WaitAsync(urgent: false, CancellationToken.None);
        var bulk2 = slots.WaitAsync(urgent: false, CancellationToken.None);
        var urgent = slots.WaitAsync(urgent: true, CancellationToken.None);

        slots.Release();
        await urgent.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(bulk1.IsCompleted);

        slots.Release();
        await bulk1.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(bulk2.IsCompleted);
        slots.Release();
        await bulk2.WaitAsync(TimeSpan.FromSeconds(10));
        slots.Release();
        Assert.Equal(0, slots.InUse);
    }

    [Fact]
    public async Task Should_skip_a_cancelled_waiter_when_a_connection_is_freed()
    {
        var slots = new PrioritySlots(1);
        await slots.WaitAsync(false, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var cancelled = slots.WaitAsync(true, cts.Token);
        var next = slots.WaitAsync(false, CancellationToken.None);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        slots.Release();

        await next.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, slots.InUse);
    }

    [Fact]
    public async Task Should_let_a_burst_through_and_then_make_takers_wait()
    {
        var bucket = new TokenBucket(ratePerSecond: 1, burst: 2, TimeProvider.System);

        Assert.True(bucket.TakeAsync(1, CancellationToken.None).IsCompletedSuccessfully);
        Assert.True(bucket.TakeAsync(1, CancellationToken.None).IsCompletedSuccessfully);
        var third = bucket.TakeAsync(1, CancellationToken.None);

        Assert.False(third.IsCompleted);
        await third;
    }
}
