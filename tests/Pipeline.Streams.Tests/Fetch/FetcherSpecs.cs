using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Fetch;
using Xunit;
using static Pipeline.Streams.Tests.Fetch.FetchFixtures;

namespace Pipeline.Streams.Tests.Fetch;

/// <summary>The fetcher against the fault-injection server: every fault gets its right outcome, and no corrupt file is ever visible.</summary>
public sealed class FetcherSpecs : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private FaultServer _server = null!;

    public async Task InitializeAsync() => _server = await FaultServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private Fetcher NewFetcher(FetchOptions? options = null, params (string, FetchOptions)[] datasets) =>
        new(Settings(_dir.Path, options ?? Options(), datasets));

    /// <summary>Every file in the cache has exactly the content its name claims, and no partial file is left over.</summary>
    private static void AssertCacheSound(Fetcher fetcher)
    {
        foreach (var f in fetcher.Cache.Files())
            Assert.Equal(Path.GetFileName(f), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
        Assert.Empty(Directory.EnumerateFiles(fetcher.Cache.TempDirectory));
    }

    private static void AssertCached(FetchResult result, byte[] content)
    {
        var cached = Assert.IsType<FetchResult.Cached>(result);
        Assert.Equal(Sha256Hex(content), cached.Sha256Hex);
        Assert.Equal(content, File.ReadAllBytes(cached.Path));
    }

    [Fact]
    public async Task Should_retry_until_published_when_server_returns_404_until_a_time()
    {
        var content = Grib(50_000);
        var readyAt = DateTimeOffset.UtcNow.AddMilliseconds(400);
        _server.Route("/late.grib2", (ctx, _) => DateTimeOffset.UtcNow < readyAt
            ? Status(ctx, 404)
            : FaultServer.ServeAsync(ctx, content, "\"v1\""));
        await using var fetcher = NewFetcher();

        var result = await fetcher.FetchAsync(Request(_server.Url("late.grib2"), content));

        AssertCached(result, content);
        Assert.True(result.Attempts >= 2, $"expected retries after 404, got {result.Attempts} attempt(s)");
        AssertCacheSound(fetcher);
    }

    [Fact]
    public async Task Should_fail_as_not_yet_published_when_404_outlasts_the_deadline()
    {
        _server.Route("/never.grib2", (ctx, _) => Status(ctx, 404));
        await using var fetcher = NewFetcher(Options() with { NotFoundDeadline = TimeSpan.FromMilliseconds(300) });

        var result = await fetcher.FetchAsync(Request(_server.Url("never.grib2")));

        var failed = Assert.IsType<FetchResult.Failed>(result);
        Assert.Equal(FetchErrorClass.NotYetPublished, failed.Error);
        Assert.Contains("404", failed.Reason);
        Assert.True(_server.Count("/never.grib2") >= 2);
        AssertCacheSound(fetcher);
    }

    [Fact]
    public async Task Should_treat_403_as_not_yet_published_only_when_configured()
    {
        var content = Grib(20_000);
        _server.Route("/denied.grib2", (ctx, n) => n <= 2 ? Status(ctx, 403) : FaultServer.ServeAsync(ctx, content, "\"v1\""));
        await using (var strict = NewFetcher())
        {
            var refused = Assert.IsType<FetchResult.Failed>(await strict.FetchAsync(Request(_server.Url("denied.grib2"), content)));
            Assert.Equal(FetchErrorClass.Permanent, refused.Error);
            Assert.Equal(1, refused.Attempts);
        }
        await using var lenient = NewFetcher(Options() with { RetryForbiddenAsNotFound = true });
        AssertCached(await lenient.FetchAsync(Request(_server.Url("denied.grib2"), content)), content);
    }

    [Fact]
    public async Task Should_honour_retry_after_seconds_when_server_returns_503()
    {
        var content = Grib(30_000);
        _server.Route("/busy.grib2", (ctx, n) =>
        {
            if (n > 1) return FaultServer.ServeAsync(ctx, content, "\"v1\"");
            ctx.Response.Headers.RetryAfter = "1";
            return Status(ctx, 503);
        });
        await using var fetcher = NewFetcher();

        var result = await fetcher.FetchAsync(Request(_server.Url("busy.grib2"), content));

        AssertCached(result, content);
        var seen = _server.Seen("/busy.grib2");
        Assert.Equal(2, seen.Count);
        Assert.True(seen[1].At - seen[0].At >= TimeSpan.FromMilliseconds(900),
            $"Retry-After: 1 not honoured: second request after {(seen[1].At - seen[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Should_honour_retry_after_date_when_server_returns_429()
    {
        var content = Grib(30_000);
        _server.Route("/throttled.grib2", (ctx, n) =>
        {
            if (n > 1) return FaultServer.ServeAsync(ctx, content, "\"v1\"");
            ctx.Response.Headers.RetryAfter = DateTimeOffset.UtcNow.AddSeconds(2).ToString("R");
            return Status(ctx, 429);
        });
        await using var fetcher = NewFetcher();

        AssertCached(await fetcher.FetchAsync(Request(_server.Url("throttled.grib2"), content)), content);
        var seen = _server.Seen("/throttled.grib2");
        Assert.True(seen[1].At - seen[0].At >= TimeSpan.FromMilliseconds(900),
            $"Retry-After date not honoured: second request after {(seen[1].At - seen[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Should_fail_transient_when_5xx_persists()
    {
        _server.Route("/down.grib2", (ctx, _) => Status(ctx, 502));
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("down.grib2"))));

        Assert.Equal(FetchErrorClass.Transient, failed.Error);
        Assert.Equal(5, failed.Attempts); // MaxTransientRetries = 4
        Assert.Equal(5, _server.Count("/down.grib2"));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(410)]
    [InlineData(400)]
    [InlineData(451)]
    public async Task Should_fail_permanently_without_retry_when_status_is_permanent(int status)
    {
        _server.Route("/gone.grib2", (ctx, _) => Status(ctx, status));
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("gone.grib2"))));

        Assert.Equal(FetchErrorClass.Permanent, failed.Error);
        Assert.Contains(status.ToString(), failed.Reason);
        Assert.Equal(1, _server.Count("/gone.grib2"));
    }

    [Fact]
    public async Task Should_resume_with_range_when_connection_resets_mid_body()
    {
        var content = Grib(400_000);
        _server.Route("/reset.grib2", (ctx, n) => FaultServer.ServeAsync(ctx, content, "\"v1\"", abortAfter: n == 1 ? 200_000 : null));
        await using var fetcher = NewFetcher();

        var result = await fetcher.FetchAsync(Request(_server.Url("reset.grib2"), content));

        AssertCached(result, content);
        var seen = _server.Seen("/reset.grib2");
        Assert.Equal(2, seen.Count);
        Assert.Null(seen[0].Range);
        Assert.Matches(@"^bytes=[1-9]\d*-$", seen[1].Range);
        Assert.Equal("\"v1\"", seen[1].IfRange);
        AssertCacheSound(fetcher);
    }

    [Fact]
    public async Task Should_resume_when_a_slow_drip_stalls_past_the_read_timeout()
    {
        var content = Grib(100_000);
        _server.Route("/drip.grib2", async (ctx, n) =>
        {
            if (n > 1)
            {
                await FaultServer.ServeAsync(ctx, content, "\"v1\"");
                return;
            }
            ctx.Response.ContentLength = content.Length;
            ctx.Response.Headers.ETag = "\"v1\"";
            await ctx.Response.Body.WriteAsync(content.AsMemory(0, 30_000));
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        await using var fetcher = NewFetcher(Options() with { ReadTimeout = TimeSpan.FromSeconds(1) });

        var result = await fetcher.FetchAsync(Request(_server.Url("drip.grib2"), content));

        AssertCached(result, content);
        var seen = _server.Seen("/drip.grib2");
        Assert.True(seen.Count >= 2, "the stalled first response must have timed out and been retried");
        Assert.Matches(@"^bytes=[1-9]\d*-$", seen[1].Range);
    }

    [Fact]
    public async Task Should_complete_in_one_attempt_when_a_slow_drip_stays_within_the_read_timeout()
    {
        var content = Grib(40_000);
        _server.Route("/steady.grib2", async (ctx, _) =>
        {
            ctx.Response.ContentLength = content.Length;
            for (var i = 0; i < 8; i++)
            {
                await ctx.Response.Body.WriteAsync(content.AsMemory(i * 5_000, 5_000));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(25);
            }
        });
        await using var fetcher = NewFetcher(Options() with { ReadTimeout = TimeSpan.FromSeconds(5) });

        var result = await fetcher.FetchAsync(Request(_server.Url("steady.grib2"), content));

        AssertCached(result, content);
        Assert.Equal(1, result.Attempts);
    }

    [Fact]
    public async Task Should_never_cache_when_body_is_shorter_than_content_length()
    {
        var content = Grib(60_000);
        _server.Route("/short.grib2", async (ctx, _) =>
        {
            ctx.Response.ContentLength = content.Length;
            await ctx.Response.Body.WriteAsync(content.AsMemory(0, content.Length - 1000));
        });
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("short.grib2"), content)));

        Assert.Equal(FetchErrorClass.Transient, failed.Error);
        Assert.Empty(fetcher.Cache.Files());
        AssertCacheSound(fetcher);
    }

    [Fact]
    public async Task Should_reject_as_corrupt_and_cache_nothing_when_checksum_is_wrong()
    {
        var content = Grib(30_000);
        _server.File("/wrongsum.grib2", content);
        await using var fetcher = NewFetcher();
        var request = Request(_server.Url("wrongsum.grib2"), Grib(30_000, seed: 2));

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(request));

        Assert.Equal(FetchErrorClass.Corrupt, failed.Error);
        Assert.Contains("checksum mismatch", failed.Reason);
        Assert.Equal(2, failed.Attempts); // MaxCorruptRetries = 1
        Assert.Empty(fetcher.Cache.Files());
        AssertCacheSound(fetcher);
    }

    [Fact]
    public async Task Should_reject_an_html_error_page_served_with_200()
    {
        var html = Encoding.UTF8.GetBytes("<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>");
        _server.Route("/page.grib2", async (ctx, _) =>
        {
            ctx.Response.ContentType = "text/html";
            await ctx.Response.Body.WriteAsync(html);
        });
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("page.grib2"))));

        Assert.Equal(FetchErrorClass.Corrupt, failed.Error);
        Assert.Contains("markup", failed.Reason);
        Assert.Empty(fetcher.Cache.Files());
    }

    [Fact]
    public async Task Should_reject_a_truncated_grib_without_its_7777_end()
    {
        var content = Grib(10_000);
        _server.File("/cut.grib2", content.AsSpan(0, 9_000).ToArray());
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("cut.grib2"))));

        Assert.Equal(FetchErrorClass.Corrupt, failed.Error);
        Assert.Contains("7777", failed.Reason);
    }

    [Fact]
    public async Task Should_reject_as_corrupt_when_size_differs_from_announcement()
    {
        var content = Grib(10_000);
        _server.File("/size.grib2", content);
        await using var fetcher = NewFetcher();
        var request = Request(_server.Url("size.grib2"), content, method: null);
        request = request with { Announcement = request.Announcement with { Size = 12_345 } };

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(request));

        Assert.Equal(FetchErrorClass.Corrupt, failed.Error);
        Assert.Contains("12345", failed.Reason);
    }

    [Fact]
    public async Task Should_follow_a_redirect_to_an_allowed_host()
    {
        var content = Grib(20_000);
        _server.File("/files/a.grib2", content);
        _server.Route("/moved.grib2", (ctx, _) => Redirect(ctx, _server.LocalhostUrl("files/a.grib2")));
        await using var fetcher = NewFetcher(Options("127.0.0.1", "localhost"));

        AssertCached(await fetcher.FetchAsync(Request(_server.Url("moved.grib2"), content)), content);
        Assert.Equal(1, _server.Count("/files/a.grib2"));
    }

    [Fact]
    public async Task Should_refuse_a_redirect_to_a_host_not_allowed()
    {
        var content = Grib(20_000);
        _server.File("/files/b.grib2", content);
        _server.Route("/evil.grib2", (ctx, _) => Redirect(ctx, _server.LocalhostUrl("files/b.grib2")));
        await using var fetcher = NewFetcher(Options("127.0.0.1"));

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("evil.grib2"), content)));

        Assert.Equal(FetchErrorClass.Refused, failed.Error);
        Assert.Contains("localhost", failed.Reason);
        Assert.Equal(0, _server.Count("/files/b.grib2"));
    }

    [Fact]
    public async Task Should_restart_from_zero_when_the_etag_changed_between_attempts()
    {
        var v1 = Grib(300_000, seed: 1);
        var v2 = Grib(280_000, seed: 2);
        _server.Route("/changing.grib2", (ctx, n) => n == 1
            ? FaultServer.ServeAsync(ctx, v1, "\"v1\"", abortAfter: 150_000)
            : FaultServer.ServeAsync(ctx, v2, "\"v2\""));
        await using var fetcher = NewFetcher();
        var request = Request(_server.Url("changing.grib2"), content: null);

        var result = await fetcher.FetchAsync(request);

        AssertCached(result, v2);
        var seen = _server.Seen("/changing.grib2");
        Assert.Equal(2, seen.Count);
        Assert.Equal("\"v1\"", seen[1].IfRange);
        AssertCacheSound(fetcher);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/file.grib2")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://internal.example/file.grib2")]
    [InlineData("http://user:secret@127.0.0.1/file.grib2")]
    public async Task Should_refuse_without_any_request_when_location_is_not_allowed(string location)
    {
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(new Uri(location))));

        Assert.Equal(FetchErrorClass.Refused, failed.Error);
        Assert.Equal(0, failed.Attempts);
    }

    [Fact]
    public async Task Should_refuse_a_link_local_address_even_when_allow_listed()
    {
        await using var fetcher = NewFetcher(Options("169.254.169.254"));

        var failed = Assert.IsType<FetchResult.Failed>(
            await fetcher.FetchAsync(Request(new Uri("http://169.254.169.254/latest/meta-data/iam"))));

        Assert.Equal(FetchErrorClass.Refused, failed.Error);
        Assert.Contains("link-local", failed.Reason);
    }

    [Fact]
    public async Task Should_download_once_when_the_same_url_is_announced_twice_at_once()
    {
        var content = Grib(100_000);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Route("/twice.grib2", async (ctx, _) =>
        {
            await release.Task;
            await FaultServer.ServeAsync(ctx, content, "\"v1\"");
        });
        await using var fetcher = NewFetcher();

        var first = fetcher.FetchAsync(Request(_server.Url("twice.grib2"), content));
        await WaitUntil(() => _server.Count("/twice.grib2") == 1);
        var second = fetcher.FetchAsync(Request(_server.Url("twice.grib2"), content) with { Dataset = "other" });
        release.SetResult();
        var results = await Task.WhenAll(first, second);

        Assert.All(results, r => AssertCached(r, content));
        Assert.Equal("other", results[1].Request.Dataset);
        Assert.Equal(1, _server.Count("/twice.grib2"));
    }

    [Fact]
    public async Task Should_return_a_small_file_in_memory_and_not_cache_it()
    {
        var content = Grib(900);
        _server.File("/small.grib2", content);
        await using var fetcher = NewFetcher(Options() with { InMemoryThreshold = 1024 });

        var result = await fetcher.FetchAsync(Request(_server.Url("small.grib2"), content));

        var mem = Assert.IsType<FetchResult.InMemory>(result);
        Assert.Equal(content, mem.Data.ToArray());
        Assert.Empty(fetcher.Cache.Files());
        AssertCacheSound(fetcher);
    }

    [Theory]
    [InlineData(IntegrityMethods.Md5, false)]
    [InlineData(IntegrityMethods.Md5, true)]
    [InlineData(IntegrityMethods.Sha256, false)]
    [InlineData(IntegrityMethods.Sha256, true)]
    [InlineData(IntegrityMethods.Sha512, false)]
    [InlineData(IntegrityMethods.Sha512, true)]
    public async Task Should_verify_the_announced_checksum_in_base64_or_hex(string method, bool hex)
    {
        var content = Grib(70_000);
        _server.File("/sum.grib2", content);
        await using var fetcher = NewFetcher();

        AssertCached(await fetcher.FetchAsync(Request(_server.Url("sum.grib2"), content, method: method, hex: hex)), content);
    }

    [Fact]
    public async Task Should_fail_as_too_large_when_the_file_exceeds_max_size()
    {
        _server.File("/big.grib2", Grib(50_000));
        await using var fetcher = NewFetcher(Options() with { MaxSize = 10_000 });

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("big.grib2"))));

        Assert.Equal(FetchErrorClass.TooLarge, failed.Error);
        Assert.Empty(fetcher.Cache.Files());
    }

    [Fact]
    public async Task Should_keep_concurrent_requests_to_a_host_within_max_connections()
    {
        var content = Grib(20_000);
        for (var i = 0; i < 8; i++)
            _server.Route($"/c{i}.grib2", async (ctx, _) =>
            {
                await Task.Delay(40);
                await FaultServer.ServeAsync(ctx, content, "\"v1\"");
            });
        await using var fetcher = NewFetcher(Options() with { Limits = new HostLimits(1000, MaxConnections: 2, Burst: 1000) });

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => fetcher.FetchAsync(Request(_server.Url($"c{i}.grib2"), content))));

        Assert.All(results, r => Assert.True(r.IsSuccess));
        Assert.InRange(_server.MaxInFlight, 1, 2);
    }

    [Fact]
    public async Task Should_serve_an_urgent_dataset_before_queued_bulk_files_when_the_host_is_saturated()
    {
        var content = Grib(5_000);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        foreach (var name in new[] { "hold", "b1", "b2", "b3", "warn" })
            _server.Route($"/{name}.grib2", async (ctx, _) =>
            {
                order.Enqueue(name);
                if (name == "hold") await release.Task;
                await FaultServer.ServeAsync(ctx, content, "\"v1\"");
            });
        var bulk = Options() with { Limits = new HostLimits(1000, MaxConnections: 1, Burst: 1000) };
        await using var fetcher = NewFetcher(bulk, ("warnings", bulk with { Urgent = true }));

        var hold = fetcher.FetchAsync(Request(_server.Url("hold.grib2"), content));
        await WaitUntil(() => _server.Count("/hold.grib2") == 1);
        var queued = new[] { "b1", "b2", "b3" }.Select(n => fetcher.FetchAsync(Request(_server.Url($"{n}.grib2"), content))).ToList();
        await WaitUntil(() => fetcher.WaitingFor("127.0.0.1") == 3);
        var urgent = fetcher.FetchAsync(Request(_server.Url("warn.grib2"), content, dataset: "warnings"));
        await WaitUntil(() => fetcher.WaitingFor("127.0.0.1") == 4);
        release.SetResult();
        await Task.WhenAll([hold, urgent, .. queued]);

        Assert.Equal(["hold", "warn"], order.Take(2));
    }

    [Fact]
    public async Task Should_space_requests_to_a_host_by_its_rate_limit()
    {
        for (var i = 0; i < 5; i++) _server.File($"/r{i}.grib2", Grib(2_000, seed: i));
        var settings = Settings(_dir.Path, Options()) with
        {
            Hosts = new Dictionary<string, HostLimits> { ["127.0.0.1"] = new(RequestsPerSecond: 10, MaxConnections: 1, Burst: 1) },
        };
        await using var fetcher = new Fetcher(settings);
        // The first request opens the connection and uses the burst; the next four must leave 100 ms apart.
        Assert.True((await fetcher.FetchAsync(Request(_server.Url("r0.grib2")))).IsSuccess);

        var results = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => fetcher.FetchAsync(Request(_server.Url($"r{i}.grib2")))));

        Assert.All(results, r => Assert.True(r.IsSuccess));
        var times = Enumerable.Range(1, 4).Select(i => _server.Seen($"/r{i}.grib2").Single().At).Order().ToList();
        // Nominally 300 ms; a loaded machine can delay the first arrival more than the last, so the bound only
        // asks for half of it. Without a limiter four small files over one warm connection take a few ms.
        Assert.True(times[^1] - times[0] >= TimeSpan.FromMilliseconds(150),
            $"4 requests at 10/s took only {(times[^1] - times[0]).TotalMilliseconds} ms (expected about 300)");
    }

    [Fact]
    public async Task Should_hold_a_host_to_its_bandwidth_cap()
    {
        var content = Grib(300_000);
        _server.File("/capped.grib2", content);
        await using var fetcher = NewFetcher(Options() with
        {
            Limits = new HostLimits(1000, MaxConnections: 4, BandwidthBytesPerSecond: 200_000, Burst: 1000),
        });
        var watch = System.Diagnostics.Stopwatch.StartNew();

        AssertCached(await fetcher.FetchAsync(Request(_server.Url("capped.grib2"), content)), content);

        // 300 kB at 200 kB/s with a 64 kB burst cannot take less than about 1.2 s.
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(1000), $"300 kB at 200 kB/s took only {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Should_fetch_only_the_matching_grib_messages_through_the_idx()
    {
        var m1 = Grib(3_000, 1);
        var m2 = Grib(5_000, 2);
        var m3 = Grib(4_000, 3);
        byte[] file = [.. m1, .. m2, .. m3];
        var idx = $"1:0:d=2026110100:HGT:500 mb:anl:\n2:{m1.Length}:d=2026110100:TMP:2 m above ground:anl:\n" +
                  $"3:{m1.Length + m2.Length}:d=2026110100:UGRD:10 m above ground:anl:\n";
        _server.File("/gfs.grib2", file);
        _server.File("/gfs.grib2.idx", Encoding.ASCII.GetBytes(idx), etag: null);
        await using var fetcher = NewFetcher();

        var result = await fetcher.FetchAsync(Request(_server.Url("gfs.grib2"), match: ":(TMP|UGRD):"));

        AssertCached(result, [.. m2, .. m3]);
        Assert.Equal($"bytes={m1.Length}-", _server.Seen("/gfs.grib2").Single().Range);

        var single = await fetcher.FetchAsync(Request(_server.Url("gfs.grib2"), match: ":TMP:2 m above"));
        AssertCached(single, m2);
        Assert.Equal($"bytes={m1.Length}-{m1.Length + m2.Length - 1}", _server.Seen("/gfs.grib2")[^1].Range);
    }

    [Fact]
    public async Task Should_fail_permanently_when_no_idx_line_matches()
    {
        _server.File("/gfs2.grib2.idx", "1:0:d=2026110100:HGT:500 mb:anl:\n"u8.ToArray(), etag: null);
        await using var fetcher = NewFetcher();

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(_server.Url("gfs2.grib2"), match: ":TMP:")));

        Assert.Equal(FetchErrorClass.Permanent, failed.Error);
        Assert.Contains("matches ':TMP:'", failed.Reason);
        Assert.Equal(0, _server.Count("/gfs2.grib2"));
    }

    [Fact]
    public async Task Should_count_attempts_bytes_and_outcomes_in_the_meter()
    {
        var content = Grib(25_000);
        _server.Route("/metered.grib2", (ctx, n) => n == 1 ? Status(ctx, 503) : FaultServer.ServeAsync(ctx, content, "\"v1\""));
        await using var fetcher = NewFetcher();
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, fetcher.Meter)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (counts) counts[instrument.Name] = counts.GetValueOrDefault(instrument.Name) + value;
        });
        listener.Start();

        AssertCached(await fetcher.FetchAsync(Request(_server.Url("metered.grib2"), content)), content);

        lock (counts)
        {
            Assert.Equal(2, counts["pipeline.fetch.attempts"]);
            Assert.Equal(content.Length, counts["pipeline.fetch.bytes"]);
            Assert.Equal(1, counts["pipeline.fetch.outcomes"]);
        }
    }

    [Fact]
    public void Should_name_the_bad_setting_when_options_are_invalid()
    {
        var settings = new FetchSettings
        {
            CacheDirectory = _dir.Path,
            Defaults = Options() with { AllowedHosts = [], MaxSize = 0 },
            Datasets = new Dictionary<string, FetchOptions>
            {
                ["warnings"] = Options() with { Limits = new HostLimits(RequestsPerSecond: 0), TransientMaxDelay = TimeSpan.FromMilliseconds(1) },
            },
        };

        var e = Assert.Throws<FetchOptionsException>(() => new Fetcher(settings));

        Assert.Contains(e.Errors, m => m.StartsWith("Fetch.Defaults.AllowedHosts", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Fetch.Defaults.MaxSize", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Fetch.Datasets[warnings].Limits.RequestsPerSecond", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Fetch.Datasets[warnings].TransientMaxDelay", StringComparison.Ordinal));
    }

    internal static async Task WaitUntil(Func<bool> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met within " + seconds + " s");
            await Task.Delay(10);
        }
    }

    private static Task Status(HttpContext ctx, int status)
    {
        ctx.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    private static Task Redirect(HttpContext ctx, Uri to)
    {
        ctx.Response.StatusCode = 302;
        ctx.Response.Headers.Location = to.ToString();
        return Task.CompletedTask;
    }
}
