using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Streams.Tests.Fetch;

/// <summary>One request as the fault server saw it.</summary>
public sealed record SeenRequest(string Path, string? Range, string? IfRange, DateTimeOffset At, int Number);

/// <summary>
/// A Kestrel server on 127.0.0.1:0 whose routes are scripted per test: each route is a handler that gets the
/// request number (1-based, per path) and decides what to do (serve, fail, drip, reset, redirect...).
/// Every request is recorded; the number of requests in flight is tracked for concurrency assertions.
/// </summary>
public sealed class FaultServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<HttpContext, int, Task>> _routes = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentQueue<SeenRequest> _seen = new();
    private int _inFlight;
    private int _maxInFlight;

    private FaultServer(WebApplication app) => _app = app;

    public static async Task<FaultServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.AllowSynchronousIO = false;
        });
        var app = builder.Build();
        var server = new FaultServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUri = new Uri(address.Replace("[::]", "127.0.0.1") + "/");
        return server;
    }

    public Uri BaseUri { get; private set; } = null!;

    public int Port => BaseUri.Port;

    public Uri Url(string path) => new(BaseUri, path.TrimStart('/'));

    /// <summary>The same path under the name <c>localhost</c> (a different host for allow-lists).</summary>
    public Uri LocalhostUrl(string path) => new($"http://localhost:{Port}/{path.TrimStart('/')}");

    public void Route(string path, Func<HttpContext, int, Task> handler) => _routes[path] = handler;

    /// <summary>Serve <paramref name="content"/> at <paramref name="path"/> with Range/If-Range support.</summary>
    public void File(string path, byte[] content, string? etag = "\"v1\"") =>
        Route(path, (ctx, _) => ServeAsync(ctx, content, etag));

    public IReadOnlyList<SeenRequest> Seen(string path) => _seen.Where(s => s.Path == path).OrderBy(s => s.Number).ToList();

    public int Count(string path) => _counts.GetValueOrDefault(path);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var n = _counts.AddOrUpdate(path, 1, (_, c) => c + 1);
        _seen.Enqueue(new SeenRequest(path, ctx.Request.Headers.Range.FirstOrDefault(), ctx.Request.Headers.IfRange.FirstOrDefault(),
            DateTimeOffset.UtcNow, n));
        var now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max) { }
        try
        {
            if (_routes.TryGetValue(path, out var handler)) await handler(ctx, n);
            else ctx.Response.StatusCode = 404;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Serves bytes honouring <c>Range: bytes=a-b</c> / <c>a-</c> and <c>If-Range</c> (ETag).</summary>
    public static async Task ServeAsync(HttpContext ctx, byte[] content, string? etag, int? abortAfter = null)
    {
        var res = ctx.Response;
        if (etag is not null) res.Headers.ETag = etag;
        res.Headers.AcceptRanges = "bytes";
        long start = 0, end = content.Length - 1;
        var range = ctx.Request.Headers.Range.FirstOrDefault();
        var ifRange = ctx.Request.Headers.IfRange.FirstOrDefault();
        var partial = false;
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && (ifRange is null || ifRange == etag))
        {
            var spec = range["bytes=".Length..].Split('-');
            start = long.Parse(spec[0]);
            if (spec[1].Length > 0) end = Math.Min(long.Parse(spec[1]), content.Length - 1);
            if (start >= content.Length)
            {
                res.StatusCode = 416;
                res.Headers.ContentRange = $"bytes */{content.Length}";
                return;
            }
            partial = true;
        }
        var length = end - start + 1;
        res.StatusCode = partial ? 206 : 200;
        if (partial) res.Headers.ContentRange = $"bytes {start}-{end}/{content.Length}";
        res.ContentLength = length;
        res.ContentType = "application/octet-stream";
        if (abortAfter is { } cut && cut < length)
        {
            await res.Body.WriteAsync(content.AsMemory((int)start, cut));
            await res.Body.FlushAsync();
            ctx.Abort();
            return;
        }
        await res.Body.WriteAsync(content.AsMemory((int)start, (int)length));
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
