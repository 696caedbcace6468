using System.Net;
using System.Net.Http.Headers;
using Pipeline.Host.Demo;
using Xunit;

namespace Pipeline.Host.Tests.Demo;

public sealed class DemoDataServerSpecs : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("demo-server-");
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 1, 15, 3, 30, 0, TimeSpan.Zero));
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false });
    private DemoRun _run = null!;
    private DemoDataServer _server = null!;

    public async Task InitializeAsync()
    {
        _run = DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Resolution = 10, LastStep = 12 });
        _server = await DemoDataServer.StartAsync(_dir.FullName, _clock);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _dir.Delete(true);
    }

    [Fact]
    public async Task Should_answer_404_before_publication_and_200_after_when_a_file_is_scheduled()
    {
        var file = _run.Files[1];
        var url = _server.UrlOf(file.RelPath);
        Assert.StartsWith("http://127.0.0.1:", _server.BaseUrl);
        _server.PublishAt(file.RelPath, _clock.GetUtcNow() + TimeSpan.FromMinutes(5));

        using (var early = await _http.GetAsync(url))
            Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);
        Assert.False(_server.IsPublished(file.RelPath));
        _clock.Advance(TimeSpan.FromMinutes(4));
        using (var stillEarly = await _http.GetAsync(url))
            Assert.Equal(HttpStatusCode.NotFound, stillEarly.StatusCode);

        _clock.Advance(TimeSpan.FromMinutes(1));
        using var late = await _http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(file.FullPath), await late.Content.ReadAsByteArrayAsync());
        Assert.True(_server.IsPublished(file.RelPath));

        Assert.Equal(2, _server.CountRequests(404, file.RelPath));
        Assert.Equal(1, _server.CountRequests(200, file.RelPath));
        Assert.Equal(2, _server.RequestsBeforePublication);
        Assert.Contains(new DemoRequestCount("/" + file.RelPath, 404, 2), _server.Requests);
    }

    [Fact]
    public async Task Should_answer_404_when_a_file_was_never_scheduled_or_does_not_exist()
    {
        using (var unscheduled = await _http.GetAsync(_server.UrlOf(_run.Files[0].RelPath)))
            Assert.Equal(HttpStatusCode.NotFound, unscheduled.StatusCode);
        using (var missing = await _http.GetAsync(_server.UrlOf("20260115/00/nothing.grib2")))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using (var traversal = await _http.GetAsync(new Uri(_server.BaseUrl + "/20260115/%2e%2e/%2e%2e/%2e%2e/etc/passwd")))
            Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
        using (var post = await _http.PostAsync(_server.UrlOf(_run.Files[0].RelPath), new StringContent("x")))
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(1, _server.RequestsBeforePublication);
    }

    [Fact]
    public async Task Should_serve_byte_ranges_and_HEAD_with_validators_when_a_file_is_published()
    {
        var file = _run.Files[2];
        _server.PublishNow(file.RelPath);
        var url = _server.UrlOf(file.RelPath);
        var bytes = await File.ReadAllBytesAsync(file.FullPath);

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(file.Size, head.Content.Headers.ContentLength);
        Assert.Equal("bytes", Assert.Single(head.Headers.AcceptRanges));
        var etag = head.Headers.ETag ?? throw new Xunit.Sdk.XunitException("no ETag");
        Assert.False(etag.IsWeak);
        Assert.Equal(new DateTimeOffset(2026, 1, 15, 3, 30, 0, TimeSpan.Zero), head.Content.Headers.LastModified);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        var range = new HttpRequestMessage(HttpMethod.Get, url);
        range.Headers.Range = new RangeHeaderValue(100, 199);
        using var partial = await _http.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(bytes[100..200], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal(file.Size, partial.Content.Headers.ContentRange!.Length);

        // Resume: the rest of the file if it has not changed (If-Range with the ETag)...
        var resume = new HttpRequestMessage(HttpMethod.Get, url);
        resume.Headers.Range = new RangeHeaderValue(200, null);
        resume.Headers.IfRange = new RangeConditionHeaderValue(etag);
        using var rest = await _http.SendAsync(resume);
        Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
        Assert.Equal(bytes[200..], await rest.Content.ReadAsByteArrayAsync());

        // ...and the whole file when the validator no longer matches.
        var stale = new HttpRequestMessage(HttpMethod.Get, url);
        stale.Headers.Range = new RangeHeaderValue(200, null);
        stale.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"other\""));
        using var whole = await _http.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());

        var conditional = new HttpRequestMessage(HttpMethod.Get, url);
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await _http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        var beyond = new HttpRequestMessage(HttpMethod.Get, url);
        beyond.Headers.Range = new RangeHeaderValue(file.Size + 10, null);
        using var unsatisfiable = await _http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
    }

    [Fact]
    public async Task Should_list_only_published_files_in_an_Apache_style_index_when_a_directory_is_requested()
    {
        var published = _run.Files[0];
        var hidden = _run.Files[1];
        _server.PublishNow(published.RelPath);
        var dir = published.RelPath[..published.RelPath.LastIndexOf('/')];

        var html = await _http.GetStringAsync(new Uri(_server.BaseUrl + "/" + dir + "/"));
        Assert.Contains("<title>Index of /" + dir + "/</title>", html);
        var name = Path.GetFileName(published.RelPath);
        Assert.Contains($"<a href=\"{name}\">{name}</a>", html);
        Assert.DoesNotContain(Path.GetFileName(hidden.RelPath), html);
        Assert.Contains("<a href=\"../\">Parent Directory</a>", html);

        var root = await _http.GetStringAsync(new Uri(_server.BaseUrl + "/"));
        Assert.Contains("<a href=\"20260115/\">20260115/</a>", root);

        using var noSlash = await _http.GetAsync(new Uri(_server.BaseUrl + "/" + dir));
        Assert.Equal(HttpStatusCode.MovedPermanently, noSlash.StatusCode);
        Assert.Equal("/" + dir + "/", noSlash.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Should_stop_listening_when_disposed()
    {
        var url = _server.UrlOf(_run.Files[0].RelPath);
        await _server.DisposeAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync(url));
        await _server.DisposeAsync();
    }
}
