using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Pipeline.Streams.Fetch;
using Xunit;
using static Pipeline.Streams.Tests.Fetch.FetchFixtures;

namespace Pipeline.Streams.Tests.Fetch;

public sealed class FetchFlowSpecs : TestKit
{
    [Fact]
    public async Task Should_emit_one_result_per_announcement_when_urgent_and_bulk_datasets_mix()
    {
        using var dir = new TempDir();
        await using var server = await FaultServer.StartAsync();
        var contents = Enumerable.Range(0, 12).Select(i => Grib(10_000 + i * 1000, seed: i)).ToArray();
        for (var i = 0; i < contents.Length; i++) server.File($"/f{i}.grib2", contents[i]);
        server.Route("/missing.grib2", (ctx, _) => { ctx.Response.StatusCode = 410; return Task.CompletedTask; });
        var settings = Settings(dir.Path, Options(), ("bulk", Options()), ("warnings", Options() with { Urgent = true }));
        await using var fetcher = new Fetcher(settings);
        var announcements = contents.Select((c, i) => Request(server.Url($"f{i}.grib2"), c, dataset: i % 3 == 0 ? "warnings" : "bulk").Announcement with { Source = i % 3 == 0 ? "warnings" : "bulk" })
            .Append(Request(server.Url("missing.grib2"), dataset: "bulk").Announcement with { Source = "bulk" })
            .ToList();

        var results = await Source.From(announcements)
            .Via(FetchFlow.FromAnnouncements(fetcher))
            .RunWith(Sink.Seq<FetchResult>(), Sys.Materializer());

        Assert.Equal(13, results.Count);
        Assert.Equal(12, results.Count(r => r is FetchResult.Cached));
        var failed = Assert.Single(results.OfType<FetchResult.Failed>());
        Assert.Equal(FetchErrorClass.Permanent, failed.Error);
        Assert.Equal(4, results.Count(r => r.Request.Dataset == "warnings"));
        foreach (var r in results.OfType<FetchResult.Cached>())
            Assert.Equal(Sha256Hex(File.ReadAllBytes(r.Path)), r.Sha256Hex);
    }
}
