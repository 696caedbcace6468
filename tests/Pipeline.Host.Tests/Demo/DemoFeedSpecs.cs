using System.Net;
using System.Text.Json;
using Pipeline.Actors.Contracts;
using Pipeline.Host.Demo;
using Pipeline.Streams.Announcements;
using Xunit;

namespace Pipeline.Host.Tests.Demo;

public sealed class DemoFeedSpecs : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("demo-feed-");
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 1, 15, 3, 30, 0, TimeSpan.Zero));
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false });
    private DemoRun _run = null!;
    private DemoDataServer _server = null!;

    public async Task InitializeAsync()
    {
        _run = DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Resolution = 10 });
        _server = await DemoDataServer.StartAsync(_dir.FullName, _clock);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _dir.Delete(true);
    }

    [Fact]
    public void Should_plan_early_duplicate_and_out_of_order_announcements_when_options_are_the_defaults()
    {
        var feed = new DemoFeed(_run, _server);
        var plan = feed.Plan;
        Assert.Equal(_run.Files.Count + 1, plan.Count);
        Assert.Equal(_run.Files.Select(f => f.RelPath).Order(), plan.Where(e => e.Kind != DemoAnnouncementKind.Duplicate).Select(e => e.File.RelPath).Order());

        var early = plan.Where(e => e.Kind == DemoAnnouncementKind.BeforePublication).ToList();
        Assert.Equal(2, early.Count);
        Assert.All(early, e => Assert.True(e.AnnounceAfter < e.PublishAfter, $"{e.File.RelPath} is announced at {e.AnnounceAfter}, published at {e.PublishAfter}"));
        Assert.All(plan.Where(e => e.Kind == DemoAnnouncementKind.Normal), e => Assert.True(e.AnnounceAfter >= e.PublishAfter));

        var duplicate = Assert.Single(plan, e => e.Kind == DemoAnnouncementKind.Duplicate);
        var first = plan.First(e => e.File.RelPath == duplicate.File.RelPath);
        Assert.True(first.AnnounceAfter < duplicate.AnnounceAfter);
        Assert.NotSame(first, duplicate);

        var hours = plan.Where(e => e.Kind != DemoAnnouncementKind.Duplicate).Select(e => e.File.ForecastHour).ToList();
        Assert.NotEqual(hours.Order(), hours);
        Assert.Equal(plan.OrderBy(e => e.AnnounceAfter).Select(e => e.AnnounceAfter), plan.Select(e => e.AnnounceAfter));
        Assert.InRange(plan[^1].AnnounceAfter, TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(18));
    }

    [Fact]
    public async Task Should_parse_every_message_with_our_v03_parser_into_the_data_server_location_when_the_feed_runs()
    {
        var feed = new DemoFeed(_run, _server, new DemoFeedOptions { Duration = TimeSpan.Zero });
        var messages = new List<DemoAnnouncement>();
        await foreach (var m in feed.ReadAllAsync()) messages.Add(m);
        Assert.Equal(feed.Plan.Count, messages.Count);

        var byPath = _run.Files.ToDictionary(f => f.RelPath);
        foreach (var m in messages)
        {
            var result = SarraceniaV03Parser.Instance.Parse(new InboundMessage("demo", m.Topic, m.Body));
            var a = Assert.Single(Assert.IsType<ParseResult.Parsed>(result).Announcements);
            var file = byPath[m.RelPath];
            Assert.Equal(AnnouncementFormats.SarraceniaV03, a.Format);
            Assert.Equal(file.RelPath, a.DataId);
            Assert.Equal(file.RelPath, a.RelPath);
            Assert.Equal(_server.UrlOf(file.RelPath), a.Location);
            Assert.StartsWith(_server.BaseUrl + "/20260115/00/demo.t00z.pgrb2.10p00.f", a.Location.ToString());
            Assert.Equal(new Integrity(IntegrityMethods.Sha512, file.Sha512), a.Integrity);
            Assert.Equal(file.Size, a.Size);
            Assert.Equal("v03.20260115.00", a.Topic);
            Assert.Equal(_clock.GetUtcNow(), a.PublishedAt);
            Assert.Null(a.Relation);

            using var body = JsonDocument.Parse(m.Body);
            Assert.Matches(@"^\d{8}T\d{6}\.\d{3}$", body.RootElement.GetProperty("pubTime").GetString());
            Assert.StartsWith("/", body.RootElement.GetProperty("relPath").GetString());
        }
        var duplicate = messages.Single(m => m.Kind == DemoAnnouncementKind.Duplicate);
        var original = messages.First(m => m.RelPath == duplicate.RelPath);
        Assert.Equal(Identity(original.Body), Identity(duplicate.Body));
        Assert.Equal(2, messages.Count(m => m.Kind == DemoAnnouncementKind.BeforePublication));
        // Every file is published by the end, except those announced early: they appear only after a first 404.
        var early = feed.Plan.Where(p => p.Kind == DemoAnnouncementKind.BeforePublication).Select(p => p.File.RelPath).ToHashSet();
        Assert.NotEmpty(early);
        Assert.All(_run.Files, f => Assert.Equal(!early.Contains(f.RelPath), _server.IsPublished(f.RelPath)));
    }

    [Fact]
    public async Task Should_answer_404_then_200_when_a_file_is_announced_before_publication()
    {
        var feed = new DemoFeed(_run, _server);
        var start = _clock.GetUtcNow();
        await using var e = feed.ReadAllAsync().GetAsyncEnumerator();
        var seen = new List<DemoAnnouncement>();
        while (await NextAsync(e) is { } m)
        {
            seen.Add(m);
            var entry = feed.Plan[seen.Count - 1];
            Assert.Equal(start + entry.AnnounceAfter, m.At);
            using var response = await _http.GetAsync(_server.UrlOf(m.RelPath));
            if (m.Kind == DemoAnnouncementKind.BeforePublication)
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                // A retry once the publish time has passed gets the file.
                var wait = start + entry.PublishAfter - _clock.GetUtcNow();
                Assert.True(wait > TimeSpan.Zero);
                Assert.False(_server.IsPublished(m.RelPath));
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        Assert.Equal(feed.Plan.Count, seen.Count);
        var lastPublication = start + feed.Plan.Max(p => p.PublishAfter);
        if (lastPublication > _clock.GetUtcNow()) _clock.Advance(lastPublication - _clock.GetUtcNow());
        foreach (var m in seen.Where(m => m.Kind == DemoAnnouncementKind.BeforePublication))
        {
            using var retry = await _http.GetAsync(_server.UrlOf(m.RelPath));
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        }
        Assert.Equal(2, _server.RequestsBeforePublication);
    }

    [Fact]
    public async Task Should_emit_the_messages_over_the_configured_duration_when_time_passes()
    {
        var feed = new DemoFeed(_run, _server, new DemoFeedOptions { Duration = TimeSpan.FromSeconds(20), Seed = 5 });
        var start = _clock.GetUtcNow();
        await using var e = feed.ReadAllAsync().GetAsyncEnumerator();
        var times = new List<TimeSpan>();
        while (await NextAsync(e) is { } m) times.Add(m.At - start);
        Assert.Equal(feed.Plan.Select(p => p.AnnounceAfter), times);
        Assert.InRange(times[^1], TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(22));
        Assert.True(times[0] < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Should_refuse_a_negative_duration_or_an_empty_run()
    {
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() =>
            new DemoFeed(_run, _server, new DemoFeedOptions { Duration = TimeSpan.FromSeconds(-1) })).Message);
        Assert.Contains("no files", Assert.Throws<ArgumentException>(() => new DemoFeed(_run with { Files = [] }, _server)).Message);
    }

    private static string Identity(string body)
    {
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("identity").GetRawText();
    }

    /// <summary>The next announcement, moving the manual clock to each pending timer until it comes; null at the end.</summary>
    private async Task<DemoAnnouncement?> NextAsync(IAsyncEnumerator<DemoAnnouncement> e)
    {
        var move = e.MoveNextAsync().AsTask();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!move.IsCompleted)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("the feed did not produce its next message");
            if (!_clock.FireNext()) await Task.WhenAny(move, Task.Delay(5));
        }
        return await move ? e.Current : null;
    }
}
