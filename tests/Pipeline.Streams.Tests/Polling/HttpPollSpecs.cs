using System.Collections.Concurrent;
using Akka.Streams;
using Microsoft.AspNetCore.Http;
using Akka.Streams.Dsl;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Polling;
using Pipeline.Streams.Tests.Fetch;
using Xunit;
using static Pipeline.Streams.Tests.Polling.IndexPages;

namespace Pipeline.Streams.Tests.Polling;

/// <summary>Polling a real HTTP server (Kestrel on loopback) that serves real-shaped directory index pages.</summary>
public sealed class HttpPollSpecs : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly DateTime T = new(2025, 11, 6, 3, 41, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(1);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "poll-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    private string SeenPath => Path.Combine(_dir, "seen.jsonl");

    private static async Task<List<Announcement>> AckAllAsync(IReadOnlyList<CommittableAnnouncements> batch)
    {
        foreach (var c in batch) Assert.True(await c.Ack());
        return batch.SelectMany(c => c.Announcements).ToList();
    }

    private Poller NewPoller(FaultServer server, string root, int depth, SeenStore seen, ListLogger? log = null,
        AnnouncementFilter? filter = null) =>
        new(new HttpDirectoryLister(_http, new HttpListingSettings(server.Url(root), depth)),
            new PollSettings("datamart-poll", TimeSpan.FromMinutes(5)) { Filter = filter ?? AnnouncementFilter.AcceptAll }, seen, log);

    [Theory]
    [InlineData(Style.ApacheTable)]
    [InlineData(Style.ApachePre)]
    [InlineData(Style.Nginx)]
    public async Task Should_announce_every_file_once_then_nothing_when_polled_twice(Style style)
    {
        await using var server = await FaultServer.StartAsync();
        server.ServeIndex("/today/gdps/", style, () => [new("00/", T), new("12/", T), new("README.txt", T, 100)]);
        server.ServeIndex("/today/gdps/00/", style, () => [new("000/", T), new("a_P000.grib2", T, 2000), new("b_P000.grib2", T, 3000)]);
        server.ServeIndex("/today/gdps/00/000/", style, () => [new("too_deep.grib2", T, 1)]);
        server.ServeIndex("/today/gdps/12/", style, () => [new("c_P012.grib2", T, 5000)]);
        using var seen = new SeenStore(SeenPath, TimeSpan.FromDays(2));
        var poller = NewPoller(server, "/today/gdps/", 1, seen,
            filter: new AnnouncementFilter([FilterClause.RejectOn(@".*README")], acceptUnmatched: true));

        var first = await AckAllAsync(await poller.PollOnceAsync());
        var second = await poller.PollOnceAsync();

        Assert.Equal(["00/a_P000.grib2", "00/b_P000.grib2", "12/c_P012.grib2"], first.Select(a => a.RelPath).Order());
        Assert.Empty(second);
        Assert.Equal(0, server.Count("/today/gdps/00/000/")); // depth 1: the root and its children only
        var a = first.Single(x => x.RelPath == "00/a_P000.grib2");
        Assert.Equal(new Uri(server.BaseUri, "today/gdps/00/a_P000.grib2"), a.Location);
        Assert.Equal((AnnouncementFormats.Poll, "datamart-poll", "v03.00", (string?)null), (a.Format, a.Source, a.Topic, a.Relation));
        Assert.Equal(style == Style.Nginx ? 2000L : null, a.Size);
        // The raw message is the v03 post sr3 poll would have made, readable by our own parser.
        var reparsed = Assert.IsType<ParseResult.Parsed>(SarraceniaV03Parser.Instance.Parse(new InboundMessage("x", a.Topic, a.RawMessage)));
        Assert.Equal(a.Location, reparsed.Announcements.Single().Location);
        Assert.Equal(1, poller.LastPass!.Filtered);
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public async Task Should_announce_a_new_file_and_a_changed_file_again_when_the_listing_changes()
    {
        await using var server = await FaultServer.StartAsync();
        var listing = new List<Listed> { new("a.grib2", T, 1000), new("b.grib2", T, 2000) };
        server.ServeIndex("/data/", Style.Nginx, () => listing.ToArray());
        using var seen = new SeenStore(SeenPath, TimeSpan.FromDays(2));
        var poller = NewPoller(server, "/data/", 0, seen);
        Assert.Equal(2, (await AckAllAsync(await poller.PollOnceAsync())).Count);

        listing[1] = new("b.grib2", T.AddMinutes(5), 2100);
        listing.Add(new("c.grib2", T.AddMinutes(6), 10));
        var next = await AckAllAsync(await poller.PollOnceAsync());

        Assert.Equal([("b.grib2", AnnouncementRelations.Update), ("c.grib2", (string?)null)],
            next.Select(a => (a.RelPath, a.Relation)).OrderBy(x => x.RelPath));
        Assert.Equal(2100, next.Single(a => a.RelPath == "b.grib2").Size);
        Assert.Empty(await poller.PollOnceAsync());
    }

    [Fact]
    public async Task Should_announce_nothing_old_when_restarted_with_the_persisted_seen_set_and_again_what_was_never_acked()
    {
        await using var server = await FaultServer.StartAsync();
        server.ServeIndex("/data/", Style.ApachePre, () => [new("sub/", T), new("a.grib2", T, 1000), new("b.grib2", T, 2000)]);
        server.ServeIndex("/data/sub/", Style.ApachePre, () => [new("c.grib2", T, 3000)]);
        using (var seen = new SeenStore(SeenPath, TimeSpan.FromDays(2)))
        {
            var batch = await NewPoller(server, "/data/", 3, seen).PollOnceAsync();
            Assert.Equal(3, batch.Count);
            // Downstream admits two, then the process dies before the third is acked.
            foreach (var c in batch.Where(c => c.Announcements[0].RelPath != "sub/c.grib2")) Assert.True(await c.Ack());
        }

        using var reopened = new SeenStore(SeenPath, TimeSpan.FromDays(2));
        var poller = NewPoller(server, "/data/", 3, reopened);
        var again = await poller.PollOnceAsync();

        Assert.Equal(["sub/c.grib2"], again.Select(c => c.Announcements[0].RelPath));
        Assert.Equal(2, reopened.Count);
        // Emitted but unresolved: not announced twice by the next pass; nacked with requeue: announced again.
        Assert.Empty(await poller.PollOnceAsync());
        Assert.True(await again[0].Origin.Nack(requeue: true));
        Assert.Single(await poller.PollOnceAsync());
    }

    [Fact]
    public async Task Should_skip_escaping_links_other_hosts_and_broken_subdirectories_with_named_warnings_when_listings_are_hostile()
    {
        await using var server = await FaultServer.StartAsync();
        const string hostile = """
            <html><body><h1>Index of /data/</h1><pre>
            <a href="../">../</a>
            <a href="ok.grib2">ok.grib2</a>            06-Nov-2025 03:41      10
            <a href="../../etc/passwd">passwd</a>       06-Nov-2025 03:41      10
            <a href="/etc/shadow">shadow</a>           06-Nov-2025 03:41      10
            <a href="http://evil.example.org/data/x.grib2">x</a> 06-Nov-2025 03:41 10
            <a href="//evil.example.org/y.grib2">y</a> 06-Nov-2025 03:41 10
            <a href="%2e%2e/%2e%2e/secret">enc</a>      06-Nov-2025 03:41      10
            <a href="broken/">broken/</a>              06-Nov-2025 03:41       -
            <a href="garbled/">garbled/</a>            06-Nov-2025 03:41       -
            <a href="elsewhere/">elsewhere/</a>        06-Nov-2025 03:41       -
            <a href="loop/">loop/</a>                  06-Nov-2025 03:41       -
            <a href="sub/">sub/</a>                    06-Nov-2025 03:41       -
            <a href="binary/">binary/</a>              06-Nov-2025 03:41       -
            """; // no closing tags: truncated page
        server.ServeHtml("/data/", hostile);
        server.ServeHtml("/data/broken/", "<html><body>Internal Server Error</body></html>", status: 500);
        server.ServeHtml("/data/garbled/", "<<<<a href=\"\"><a hr<ef=x>\0\0<a href=\"deep.grib2\">deep.grib2</a");
        server.Route("/data/elsewhere/", (ctx, _) => { ctx.Response.Redirect("http://evil.example.org/data/"); return Task.CompletedTask; });
        server.ServeHtml("/data/loop/", """<a href="/data/">up</a> <a href="/data/loop/">self</a> <a href="../sub/side.grib2">side</a>""");
        server.ServeIndex("/data/sub/", Style.Nginx, () => [new("side.grib2", T, 5)]);
        server.Route("/data/binary/", async (ctx, _) => { ctx.Response.ContentType = "application/octet-stream"; await ctx.Response.Body.WriteAsync(new byte[64]); });
        var log = new ListLogger();
        using var seen = new SeenStore(SeenPath, TimeSpan.FromDays(2));
        var poller = NewPoller(server, "/data/", 2, seen, log);

        var found = await AckAllAsync(await poller.PollOnceAsync());

        Assert.Equal(["garbled/deep.grib2", "ok.grib2", "sub/side.grib2"], found.Select(a => a.RelPath).Order());
        Assert.All(found, a => Assert.Equal(server.BaseUri.Authority, a.Location.Authority));
        var warnings = string.Join("\n", log.Warnings);
        Assert.Contains("'../../etc/passwd' escapes the polled root /data/", warnings, StringComparison.Ordinal);
        Assert.Contains("'/etc/shadow' escapes", warnings, StringComparison.Ordinal);
        Assert.Contains("'http://evil.example.org/data/x.grib2' leaves", warnings, StringComparison.Ordinal);
        Assert.Contains("'//evil.example.org/y.grib2' leaves", warnings, StringComparison.Ordinal);
        Assert.Contains("%2e%2e", warnings, StringComparison.Ordinal);
        Assert.Contains("/data/broken/: HTTP 500", warnings, StringComparison.Ordinal);
        Assert.Contains("/data/elsewhere/: redirected to http://evil.example.org/data/", warnings, StringComparison.Ordinal);
        Assert.Contains("/data/binary/: answered application/octet-stream", warnings, StringComparison.Ordinal);
        Assert.Equal(0, server.Count("/etc/passwd") + server.Count("/etc/shadow"));
        Assert.Null(poller.LastPass!.Failure);
    }

    [Fact]
    public async Task Should_log_and_retry_next_interval_without_failing_the_stream_when_the_root_listing_fails()
    {
        await using var server = await FaultServer.StartAsync();
        server.Route("/data/", async (ctx, n) =>
        {
            if (n <= 2) { ctx.Response.StatusCode = 500; return; }
            ctx.Response.ContentType = "text/html";
            await ctx.Response.WriteAsync(Render(Style.ApacheTable, "/data/", n < 4 ? [new("a.grib2", T, 1)] : [new("a.grib2", T, 1), new("b.grib2", T, 2)]));
        });
        var log = new ListLogger();
        using var seen = new SeenStore(SeenPath, TimeSpan.FromDays(2));
        var poller = new Poller(new HttpDirectoryLister(_http, new HttpListingSettings(server.Url("/data/"))),
            new PollSettings("p", TimeSpan.FromMilliseconds(200)), seen, log);
        var received = new ConcurrentQueue<string>();

        var kill = PollSource.Announcements(poller)
            .ViaMaterialized(KillSwitches.Single<CommittableAnnouncements>(), Keep.Right)
            .SelectAsync(1, async c => { received.Enqueue(c.Announcements[0].RelPath); return await c.Ack(); })
            .To(Sink.Ignore<bool>())
            .Run(Sys.Materializer());
        try
        {
            await BrokerFixtures.WaitUntilAsync(() => received.Count >= 2, Deadline, () => $"received {string.Join(",", received)}");
            Assert.Equal(["a.grib2", "b.grib2"], received);
            Assert.Contains(log.Warnings, w => w.Contains("listing " + server.Url("/data/") + " failed", StringComparison.Ordinal) &&
                                               w.Contains("HTTP 500", StringComparison.Ordinal) && w.Contains("retrying in", StringComparison.Ordinal));
        }
        finally
        {
            kill.Shutdown();
        }
    }

    [Fact]
    public void Should_refuse_bad_settings_with_the_setting_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new HttpListingSettings(new Uri("ftp://x.org/"), 1).Validate());
        Assert.Contains("Root", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new HttpListingSettings(new Uri("http://x.org/"), -1).Validate());
        Assert.Contains("MaxDepth", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new PollSettings("p", TimeSpan.Zero).Validate());
        Assert.Contains("Interval", e.Message, StringComparison.Ordinal);
    }

    public new void Dispose()
    {
        _http.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
