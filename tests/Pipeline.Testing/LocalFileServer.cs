using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Testing;

/// <summary>
/// A real HTTP data server on a free loopback port, serving a directory the way a data centre does: Range and
/// conditional requests (ETag, Last-Modified), 404 for files not yet "published" (<see cref="Hold"/> /
/// <see cref="Publish"/>), and faults on demand (<see cref="Serve"/> a fixed status or body). Counts requests per path.
/// </summary>
public sealed class LocalFileServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, bool> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Status, string Body)> _overrides = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _stalled = new(StringComparer.Ordinal);
    private int _stalledNow;

    private LocalFileServer(WebApplication app, string root, Uri baseUrl)
    {
        _app = app;
        Root = root;
        BaseUrl = baseUrl;
    }

    public string Root { get; }

    /// <summary>The server's base URL, ending in '/'.</summary>
    public Uri BaseUrl { get; }

    public static async Task<LocalFileServer> StartAsync(string root)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        LocalFileServer? self = null;
        app.MapMethods("/{**path}", ["GET", "HEAD"], async (string path, HttpContext context) =>
        {
            self!._requests.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (self._stalled.TryGetValue(path, out var stall))
            {
                var now = Interlocked.Increment(ref self._stalledNow);
                lock (self._stalled)
                {
                    self.StalledPeak = Math.Max(self.StalledPeak, now);
                }
                try
                {
                    await stall.Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return Results.StatusCode(499);
                }
                finally
                {
                    Interlocked.Decrement(ref self._stalledNow);
                }
            }
            if (self._overrides.TryGetValue(path, out var o)) return Results.Text(o.Body, "text/html", statusCode: o.Status);
            if (self._held.ContainsKey(path)) return Results.NotFound();
            var full = Path.GetFullPath(Path.Combine(root, path));
            if (!full.StartsWith(Path.GetFullPath(root), StringComparison.Ordinal) || !File.Exists(full)) return Results.NotFound();
            var info = new FileInfo(full);
            var etag = new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\"");
            return Results.File(full, "application/octet-stream", lastModified: info.LastWriteTimeUtc, entityTag: etag, enableRangeProcessing: true);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new LocalFileServer(app, root, new Uri(address.TrimEnd('/') + "/"));
        return self;
    }

    /// <summary>The URL of a path under the root.</summary>
    public Uri Url(string relPath) => new(BaseUrl, relPath);

    /// <summary>Answer 404 for <paramref name="relPath"/> until <see cref="Publish"/>.</summary>
    public void Hold(string relPath) => _held[relPath] = true;

    public void Publish(string relPath) => _held.TryRemove(relPath, out _);

    /// <summary>Answer <paramref name="status"/> with <paramref name="body"/> for <paramref name="relPath"/> (an HTML error page served as 200, say).</summary>
    public void Serve(string relPath, int status, string body) => _overrides[relPath] = (status, body);

    public int Requests(string relPath) => _requests.GetValueOrDefault(relPath);

    /// <summary>Accept requests for <paramref name="relPath"/> and answer nothing until <see cref="Release"/>: a stalled host.</summary>
    public void Stall(string relPath) => _stalled.TryAdd(relPath, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>The most requests held by <see cref="Stall"/> at the same time.</summary>
    public int StalledPeak { get; private set; }

    /// <summary>Answer the stalled requests for <paramref name="relPath"/> (and every later one) normally.</summary>
    public void Release(string relPath)
    {
        if (_stalled.TryRemove(relPath, out var stall)) stall.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
