using System.Net;
using System.Net.Sockets;

namespace Pipeline.Zarr.Tests.Support;

public enum Fault
{
    Forward,
    /// <summary>Answer 500 InternalError without forwarding.</summary>
    ServerError,
    /// <summary>Read part of the request body, then reset the connection (a server dying mid-write).</summary>
    CutMidBody,
}

/// <summary>
/// A loopback HTTP proxy in front of a real S3 server that injects faults per request. Forwarded requests keep
/// their Host header, so SigV4 signatures stay valid.
/// </summary>
public sealed class FaultyHttpProxy : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly Uri _target;
    private readonly Func<HttpListenerRequest, int, Fault> _policy;
    private readonly Task _loop;
    private int _count;

    public FaultyHttpProxy(string target, Func<HttpListenerRequest, int, Fault> policy)
    {
        _target = new Uri(target);
        _policy = policy;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public int Requests => Volatile.Read(ref _count);

    public int Faults { get; private set; }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var n = Interlocked.Increment(ref _count);
        var request = context.Request;
        try
        {
            switch (_policy(request, n))
            {
                case Fault.ServerError:
                    Faults++;
                    await DrainAsync(request.InputStream).ConfigureAwait(false);
                    context.Response.StatusCode = 500;
                    context.Response.ContentType = "application/xml";
                    var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>"u8.ToArray();
                    await context.Response.OutputStream.WriteAsync(body).ConfigureAwait(false);
                    context.Response.Close();
                    return;
                case Fault.CutMidBody:
                    Faults++;
                    var buffer = new byte[4096];
                    _ = await request.InputStream.ReadAsync(buffer).ConfigureAwait(false);
                    context.Response.Abort();
                    return;
            }
            using var forward = new HttpRequestMessage(new HttpMethod(request.HttpMethod), new Uri(_target, request.RawUrl));
            using var bodyStream = new MemoryStream();
            await request.InputStream.CopyToAsync(bodyStream).ConfigureAwait(false);
            if (request.HasEntityBody || bodyStream.Length > 0 || request.HttpMethod is "PUT" or "POST")
                forward.Content = new ByteArrayContent(bodyStream.ToArray());
            foreach (var name in request.Headers.AllKeys)
            {
                if (name is null || name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Expect", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
                var values = request.Headers.GetValues(name) ?? [];
                if (!forward.Headers.TryAddWithoutValidation(name, values)) forward.Content?.Headers.TryAddWithoutValidation(name, values);
            }
            forward.Headers.Host = request.Headers["Host"];
            using var response = await _client.SendAsync(forward, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var h in response.Headers.Concat(response.Content.Headers))
            {
                if (h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                    || h.Key.Equals("Connection", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)) continue;
                foreach (var v in h.Value) context.Response.AppendHeader(h.Key, v);
            }
            var bytes = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            if (request.HttpMethod == "HEAD")
            {
                if (response.Content.Headers.ContentLength is { } len) context.Response.ContentLength64 = len;
            }
            else
            {
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
            }
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or HttpRequestException or ObjectDisposedException)
        {
            try
            {
                context.Response.Abort();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static async Task DrainAsync(Stream s)
    {
        var buffer = new byte[65536];
        while (await s.ReadAsync(buffer).ConfigureAwait(false) > 0)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }
        _client.Dispose();
    }
}
