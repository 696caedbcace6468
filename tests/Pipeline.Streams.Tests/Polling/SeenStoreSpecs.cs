using Pipeline.Streams.Polling;
using Xunit;

namespace Pipeline.Streams.Tests.Polling;

public sealed class SeenStoreSpecs : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seen-" + Guid.NewGuid().ToString("N")[..12]);

    private string File => Path.Combine(_dir, "seen.jsonl");

    [Fact]
    public async Task Should_remember_the_last_fingerprint_of_each_key_when_reopened()
    {
        using (var store = new SeenStore(File, TimeSpan.FromDays(1)))
        {
            await Task.WhenAll(Enumerable.Range(0, 200).Select(i => store.MarkAsync($"http://h/f{i}", "1|2|")));
            await store.MarkAsync("http://h/f7", "9|9|");
        }

        using var reopened = new SeenStore(File, TimeSpan.FromDays(1));
        Assert.Equal(200, reopened.Count);
        Assert.True(reopened.IsSeen("http://h/f7", "9|9|", out _));
        Assert.False(reopened.IsSeen("http://h/f7", "1|2|", out var known));
        Assert.True(known);
        Assert.False(reopened.IsSeen("http://h/other", "1|2|", out known));
        Assert.False(known);
    }

    [Fact]
    public async Task Should_forget_entries_no_listing_showed_within_the_retention_and_compact_the_file()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        using (var store = new SeenStore(File, TimeSpan.FromHours(10), clock))
        {
            for (var round = 0; round < 4; round++)
                for (var i = 0; i < 600; i++) await store.MarkAsync($"k{i}", $"v{round}");
            Assert.Equal(2400, store.FileLines);
            Assert.True(await store.MaybeCompactAsync()); // 2400 lines > 2 * 600 + 1000
            Assert.Equal(600, store.FileLines);

            clock.Advance(TimeSpan.FromHours(6));
            for (var i = 0; i < 300; i++) Assert.True(store.IsSeen($"k{i}", "v3", out _)); // still listed: refreshed
            clock.Advance(TimeSpan.FromHours(6));
            Assert.Equal(300, store.Forget());
            Assert.Equal(300, store.Count);
            Assert.True(await store.MaybeCompactAsync()); // due: a quarter of the retention since the last one
        }
        Assert.Equal(300, System.IO.File.ReadAllLines(File).Length);
        Assert.False(System.IO.File.Exists(File + ".tmp"));

        using var reopened = new SeenStore(File, TimeSpan.FromHours(10), clock);
        Assert.Equal(300, reopened.Count);
        Assert.True(reopened.IsSeen("k299", "v3", out _));
        Assert.False(reopened.IsSeen("k300", "v3", out _));
    }

    [Fact]
    public async Task Should_skip_a_torn_last_line_and_keep_the_rest_when_the_process_died_mid_append()
    {
        using (var store = new SeenStore(File, TimeSpan.FromDays(1)))
        {
            await store.MarkAsync("a", "1");
            await store.MarkAsync("b", "1");
        }
        await System.IO.File.AppendAllTextAsync(File, "{\"k\":\"c\",\"f\":\"1\",\"t\":17");
        await System.IO.File.WriteAllTextAsync(File + ".tmp", "half a compaction");

        using var reopened = new SeenStore(File, TimeSpan.FromDays(1));

        Assert.Equal((2, 1), (reopened.Count, reopened.SkippedLines));
        Assert.True(reopened.IsSeen("b", "1", out _));
        Assert.False(System.IO.File.Exists(File + ".tmp"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
