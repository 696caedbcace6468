using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Pipeline.Host.Demo;

/// <summary>How many requests for one path ended with one status.</summary>
public sealed record DemoRequestCount(string Path, int Status, int Count);

/// <summary>
/// A local HTTP data server for the demo: Kestrel on 127.0.0.1 with a free port, serving the files under a root
/// directory on a publication schedule. A file is served (200, or 206 for a Range request) only once its publish
/// time has passed on the server's <see cref="TimeProvider"/>; before that, and for files that were never
/// scheduled, it answers 404, like a real data server that does not have the file yet. GET and HEAD; Range,
/// If-Range, If-None-Match and If-Modified-Since with a strong ETag and Last-Modified (the publish time). A
/// directory URL ending in '/' gets an Apache-style index of the published files; without the slash it redirects
/// (301), as Apache does. Every request is counted by path and status.
/// </summary>
public sealed class DemoDataServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _root;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _publishAt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> _afterMiss = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Path, int Status), int> _counts = new();
    private int _beforePublication;
    private int _disposed;

    private DemoDataServer(WebApplication app, string root, TimeProvider time)
    {
        _app = app;
        _root = root;
        TimeProvider = time;
    }

    /// <summary>The server's URL without a trailing slash (<c>http://127.0.0.1:PORT</c>): Sarracenia's <c>baseUrl</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The directory whose files are served; URL paths are relative to it.</summary>
    public string Root => _root;

    /// <summary>The clock the publication schedule is read with.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Requests for files that exist but were not published yet (each answered 404).</summary>
    public int RequestsBeforePublication => Volatile.Read(ref _beforePublication);

    /// <summary>Starts the server on 127.0.0.1 with a port the system picks.</summary>
    /// <param name="root">The directory to serve (a <see cref="DemoRun.Directory"/>).</param>
    /// <param name="timeProvider">The clock for the publication schedule (default the system clock).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<DemoDataServer> StartAsync(string root, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"the demo data directory {full} does not exist");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = full });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new DemoDataServer(app, full, timeProvider ?? TimeProvider.System);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                      ?? throw new InvalidOperationException("Kestrel started without an address");
        server.BaseUrl = address.TrimEnd('/');
        return server;
    }

    /// <summary>The URL of a file, from its relPath (with or without a leading slash).</summary>
    public Uri UrlOf(string relPath) => new(BaseUrl + "/" + relPath.TrimStart('/'));

    /// <summary>Makes <paramref name="relPath"/> appear at <paramref name="at"/> (replacing any earlier schedule).</summary>
    public void PublishAt(string relPath, DateTimeOffset at) => _publishAt[Normalize(relPath)] = at;

    /// <summary>
    /// Keeps <paramref name="relPath"/> unpublished until someone asks for it, then publishes it
    /// <paramref name="delay"/> after that first 404: a file announced before it exists, whatever the timing.
    /// </summary>
    public void PublishAfterFirstMiss(string relPath, TimeSpan delay)
    {
        var rel = Normalize(relPath);
        _publishAt.TryRemove(rel, out _);
        _afterMiss[rel] = delay;
    }

    /// <summary>Makes <paramref name="relPath"/> appear now.</summary>
    public void PublishNow(string relPath) => PublishAt(relPath, TimeProvider.GetUtcNow());

    /// <summary>Publishes every file of <paramref name="run"/> now (a server with the whole run already on it).</summary>
    public void PublishAll(DemoRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var now = TimeProvider.GetUtcNow();
        foreach (var f in run.Files) PublishAt(f.RelPath, now);
    }

    /// <summary>Whether <paramref name="relPath"/> is served now.</summary>
    public bool IsPublished(string relPath) =>
        _publishAt.TryGetValue(Normalize(relPath), out var at) && at <= TimeProvider.GetUtcNow();

    /// <summary>Requests so far, by path and status, sorted by path then status.</summary>
    public IReadOnlyList<DemoRequestCount> Requests =>
        _counts.Select(kv => new DemoRequestCount(kv.Key.Path, kv.Key.Status, kv.Value))
            .OrderBy(c => c.Path, StringComparer.Ordinal).ThenBy(c => c.Status).ToList();

    /// <summary>Requests so far that ended with <paramref name="status"/> (for one path, when given).</summary>
    public int CountRequests(int status, string? relPath = null)
    {
        if (relPath is not null) return _counts.TryGetValue(("/" + Normalize(relPath), status), out var c) ? c : 0;
        return _counts.Where(kv => kv.Key.Status == status).Sum(kv => kv.Value);
    }

    private static string Normalize(string relPath)
    {
        ArgumentNullException.ThrowIfNull(relPath);
        return relPath.Replace('\\', '/').TrimStart('/');
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        try
        {
            await ServeAsync(context, path).ConfigureAwait(false);
        }
        finally
        {
            _counts.AddOrUpdate((path, context.Response.StatusCode), 1, (_, n) => n + 1);
        }
    }

    private async Task ServeAsync(HttpContext context, string path)
    {
        var response = context.Response;
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        var rel = path.TrimStart('/');
        var full = Path.GetFullPath(Path.Combine(_root, rel));
        if (full != _root && !full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (Directory.Exists(full))
        {
            if (!path.EndsWith('/'))
            {
                response.StatusCode = StatusCodes.Status301MovedPermanently;
                response.Headers.Location = path + "/";
                return;
            }
            await WriteIndexAsync(context, path, full).ConfigureAwait(false);
            return;
        }
        var now = TimeProvider.GetUtcNow();
        var published = _publishAt.TryGetValue(rel, out var at) && at <= now;
        if (!File.Exists(full) || !published)
        {
            if (File.Exists(full)) Interlocked.Increment(ref _beforePublication);
            if (File.Exists(full) && _afterMiss.TryRemove(rel, out var delay)) _publishAt[rel] = now + delay;
            response.StatusCode = StatusCodes.Status404NotFound;
            response.ContentType = "text/plain";
            if (HttpMethods.IsGet(context.Request.Method)) await response.WriteAsync($"Not Found: {path}\n").ConfigureAwait(false);
            return;
        }
        var info = new FileInfo(full);
        var lastModified = Truncate(at);
        var etag = new EntityTagHeaderValue($"\"{info.Length:x}-{lastModified.ToUnixTimeSeconds():x}\"");
        await Results.File(full, "application/octet-stream", null, lastModified, etag, enableRangeProcessing: true)
            .ExecuteAsync(context).ConfigureAwait(false);
    }

    private async Task WriteIndexAsync(HttpContext context, string urlPath, string directory)
    {
        var now = TimeProvider.GetUtcNow();
        var entries = new List<(string Name, bool IsDirectory, DateTimeOffset Modified, long Size)>();
        foreach (var d in Directory.EnumerateDirectories(directory))
        {
            var newest = PublishedUnder(d, now);
            if (newest is { } m) entries.Add((Path.GetFileName(d) + "/", true, m, -1));
        }
        foreach (var f in Directory.EnumerateFiles(directory))
        {
            var rel = Path.GetRelativePath(_root, f).Replace('\\', '/');
            if (_publishAt.TryGetValue(rel, out var at) && at <= now) entries.Add((Path.GetFileName(f), false, at, new FileInfo(f).Length));
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var title = WebUtility.HtmlEncode(urlPath);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of ")
            .Append(title).Append("</title>\n </head>\n <body>\n<h1>Index of ").Append(title).Append("</h1>\n<pre>")
            .Append("Name                                             Last modified      Size  <hr>");
        if (urlPath != "/") html.Append("<a href=\"../\">Parent Directory</a>                                                    -   \n");
        foreach (var e in entries)
        {
            var name = WebUtility.HtmlEncode(e.Name);
            html.Append("<a href=\"").Append(Uri.EscapeDataString(e.Name.TrimEnd('/'))).Append(e.IsDirectory ? "/" : "").Append("\">")
                .Append(name).Append("</a>").Append(' ', Math.Max(1, 49 - e.Name.Length))
                .Append(e.Modified.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).Append("  ")
                .Append((e.IsDirectory ? "-" : HumanSize(e.Size)).PadLeft(5)).Append('\n');
        }
        html.Append("<hr></pre>\n</body></html>\n");
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/html;charset=UTF-8";
        if (HttpMethods.IsGet(context.Request.Method)) await context.Response.WriteAsync(html.ToString()).ConfigureAwait(false);
    }

    /// <summary>The latest publish time of a published file under <paramref name="directory"/>, or null when none is published.</summary>
    private DateTimeOffset? PublishedUnder(string directory, DateTimeOffset now)
    {
        var prefix = Path.GetRelativePath(_root, directory).Replace('\\', '/') + "/";
        DateTimeOffset? newest = null;
        foreach (var (rel, at) in _publishAt)
            if (at <= now && rel.StartsWith(prefix, StringComparison.Ordinal) && (newest is null || at > newest)) newest = at;
        return newest;
    }

    /// <summary>Apache's size column: 554K, 1.2M.</summary>
    internal static string HumanSize(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture),
        < 10 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + "K",
        < 1024 * 1024 => (bytes / 1024).ToString(CultureInfo.InvariantCulture) + "K",
        < 10 * 1024 * 1024 => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + "M",
        _ => (bytes / 1048576).ToString(CultureInfo.InvariantCulture) + "M",
    };

    private static DateTimeOffset Truncate(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset);

    /// <summary>Stops Kestrel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
