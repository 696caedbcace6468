using System.Collections.Concurrent;
using System.Threading.Channels;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests.Ingest;

public sealed class FairDispatchSpecs
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private sealed record Item(string Host, int N);

    [Fact]
    public async Task Should_finish_every_other_hosts_work_while_one_host_with_a_long_backlog_is_stalled()
    {
        var input = Channel.CreateUnbounded<Item>();
        var stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new ConcurrentDictionary<string, int>();
        var output = FairDispatch.Run(input.Reader, i => i.Host, _ => 2, total: 4, buffer: 100, async i =>
        {
            started.AddOrUpdate(i.Host, 1, (_, n) => n + 1);
            if (i.Host == "slow") await stall.Task;
            return i;
        }, CancellationToken.None);

        // The stalled host's backlog comes first and is larger than the overall limit.
        for (var n = 0; n < 20; n++) input.Writer.TryWrite(new Item("slow", n));
        for (var n = 0; n < 10; n++) input.Writer.TryWrite(new Item("fast", n));
        input.Writer.Complete();

        var done = new List<Item>();
        var reading = Task.Run(async () =>
        {
            await foreach (var i in output.ReadAllAsync()) lock (done) done.Add(i);
        });
        await Eventually.HoldsAsync(() => Task.FromResult(Count(done, "fast")), n => n == 10, Deadline, "every fast item done");
        Assert.Equal(0, Count(done, "slow"));
        Assert.Equal(2, started["slow"]); // the stalled host holds only its own two places

        stall.SetResult();
        await reading.WaitAsync(Deadline); // the output completes once the input is done and drained
        Assert.Equal(20, Count(done, "slow"));
        Assert.Equal(30, done.Select(i => (i.Host, i.N)).Distinct().Count());
    }

    [Fact]
    public async Task Should_start_no_more_than_the_overall_limit_when_downstream_takes_nothing()
    {
        var input = Channel.CreateUnbounded<Item>();
        var started = 0;
        var output = FairDispatch.Run(input.Reader, i => i.Host, _ => 100, total: 3, buffer: 5, i =>
        {
            Interlocked.Increment(ref started);
            return Task.FromResult(i);
        }, CancellationToken.None);
        for (var n = 0; n < 50; n++) input.Writer.TryWrite(new Item("h" + (n % 7), n));

        // Nobody reads: three results fill the output (its capacity is the overall limit), three more finish and wait
        // to write, holding the three places; five more wait in the per-host queues; the rest stay in the input.
        await Eventually.HoldsAsync(() => Task.FromResult((Volatile.Read(ref started), input.Reader.Count)), x => x == (6, 50 - 6 - 5),
            Deadline, "six started, five buffered");

        input.Writer.Complete();
        var all = new List<Item>();
        await foreach (var i in output.ReadAllAsync().WithCancellation(new CancellationTokenSource(Deadline).Token)) all.Add(i);
        Assert.Equal(50, all.Select(i => i.N).Distinct().Count());
    }

    [Fact]
    public async Task Should_complete_the_output_with_the_error_when_a_work_item_throws()
    {
        var input = Channel.CreateUnbounded<Item>();
        var output = FairDispatch.Run<Item, Item>(input.Reader, i => i.Host, _ => 1, 2, 10,
            i => i.N == 3 ? throw new InvalidOperationException("item 3 broke") : Task.FromResult(i), CancellationToken.None);
        for (var n = 0; n < 5; n++) input.Writer.TryWrite(new Item("h", n));
        input.Writer.Complete();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in output.ReadAllAsync()) { }
        });
        Assert.Equal("item 3 broke", e.Message);
    }

    [Fact]
    public async Task Should_complete_the_output_when_cancelled()
    {
        var input = Channel.CreateUnbounded<Item>();
        using var cts = new CancellationTokenSource();
        var output = FairDispatch.Run(input.Reader, i => i.Host, _ => 1, 2, 10, i => Task.FromResult(i), cts.Token);
        input.Writer.TryWrite(new Item("h", 1));
        Assert.Equal(1, (await output.ReadAsync()).N);
        cts.Cancel();
        await output.Completion.WaitAsync(Deadline);
    }

    private static int Count(List<Item> done, string host)
    {
        lock (done) return done.Count(i => i.Host == host);
    }
}
