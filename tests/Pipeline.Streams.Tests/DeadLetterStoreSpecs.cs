using System.Text.Json;
using Pipeline.Streams.Announcements;
using Xunit;

namespace Pipeline.Streams.Tests;

public sealed class DeadLetterStoreSpecs : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"dead-{Guid.NewGuid():N}.jsonl");

    private static DeadLetter Letter(string source, string reason, int minute, string body = "x") =>
        new(source, reason, new DateTimeOffset(2026, 11, 1, 0, minute, 0, TimeSpan.Zero), "v03.t", body);

    [Fact]
    public async Task Should_list_by_query_and_remove_by_id_keeping_everything_else_when_letters_are_managed()
    {
        using var file = new FileDeadLetterStore(_path);
        IDeadLetterStore store = file;
        for (var i = 0; i < 10; i++)
            await store.ParkAsync(Letter(i % 2 == 0 ? "amqp" : "mqtt", i < 5 ? "sarracenia-v03: 'relPath' is missing" : "filtered: reject .*tmp", i, "body" + i));
        // A line from before ids existed, and a torn line from a crash.
        await File.AppendAllTextAsync(_path, JsonSerializer.Serialize(new { source = "old", reason = "r", at = "2026-10-01T00:00:00Z", body = "legacy" }) + "\n");
        await File.AppendAllTextAsync(_path, "{\"source\":\"amqp\",\"rea");

        var all = await store.ListAsync();
        Assert.Equal((11, 1), (all.Total, all.Unreadable));
        Assert.All(all.Letters, l => Assert.False(string.IsNullOrEmpty(l.Id)));
        Assert.Equal(11, all.Letters.Select(l => l.Id).Distinct().Count());
        var legacy = all.Letters.Single(l => l.Source == "old");
        Assert.StartsWith("h-", legacy.Id, StringComparison.Ordinal);
        Assert.Equal(legacy.Id, (await store.ListAsync(new DeadLetterQuery(Source: "old"))).Letters.Single().Id); // stable

        var filtered = await store.ListAsync(new DeadLetterQuery(Source: "amqp", ReasonContains: "FILTERED"));
        Assert.Equal(["body6", "body8"], filtered.Letters.Select(l => l.Body));
        var window = await store.ListAsync(new DeadLetterQuery(Since: Letter("", "", 3).At, Until: Letter("", "", 7).At), offset: 1, limit: 2);
        Assert.Equal(4, window.Total);
        Assert.Equal(["body4", "body5"], window.Letters.Select(l => l.Body));

        var removed = await store.RemoveAsync([.. filtered.Letters.Select(l => l.Id!), legacy.Id!, "no-such-id"]);

        Assert.Equal(3, removed);
        var after = await store.ListAsync();
        Assert.Equal((8, 1), (after.Total, after.Unreadable)); // the torn line is kept verbatim, never dropped
        Assert.DoesNotContain(after.Letters, l => l.Body is "body6" or "body8" or "legacy");
        Assert.False(File.Exists(_path + ".tmp"));
        Assert.Equal(0, await store.RemoveAsync(["no-such-id"]));
    }

    [Fact]
    public async Task Should_lose_no_letter_parked_while_others_are_removed()
    {
        using var store = new FileDeadLetterStore(_path);
        for (var i = 0; i < 200; i++) await store.ParkAsync(Letter("s", "r", i % 60, "old" + i));
        var old = (await store.ListAsync()).Letters.Select(l => l.Id!).ToArray();

        var parking = Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => store.ParkAsync(Letter("s", "r", 1, "new" + i)))));
        var removing = Task.WhenAll(old.Chunk(20).Select(ids => Task.Run(() => store.RemoveAsync(ids))));
        await parking;
        var removed = await removing;

        var left = await store.ListAsync();
        Assert.Equal(200, removed.Sum());
        Assert.Equal(Enumerable.Range(0, 200).Select(i => "new" + i).Order(), left.Letters.Select(l => l.Body).Order());
    }

    [Fact]
    public async Task Should_remove_from_memory_too_when_the_store_is_in_memory()
    {
        var memory = new InMemoryDeadLetterStore();
        IDeadLetterStore store = memory;
        await store.ParkAsync(Letter("s", "r", 1, "a"));
        await store.ParkAsync(Letter("s", "r", 2, "b"));
        var a = memory.Letters.Single(l => l.Body == "a").Id!;

        Assert.Equal(1, await store.RemoveAsync([a]));
        Assert.Equal(["b"], (await store.ListAsync()).Letters.Select(l => l.Body));
    }

    public void Dispose()
    {
        if (File.Exists(_path)) File.Delete(_path);
    }
}
