using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Amazon.S3;
using Amazon.S3.Model;

namespace Pipeline.Streams.Fetch;

/// <summary>
/// One response of a transport, HTTP or S3, reduced to what the fetcher decides on. The fetcher disposes it.
/// </summary>
/// <param name="Status">HTTP status code (S3 errors carry theirs).</param>
/// <param name="Body">The body for 200/206; null otherwise.</param>
/// <param name="ContentLength">Length of this body, if known.</param>
/// <param name="TotalLength">Length of the whole object (Content-Range total, or the 200 body length), if known.</param>
/// <param name="RangeStart">First byte of this body in the object (206), 0 for 200.</param>
/// <param name="Validator">A strong ETag, else Last-Modified (HTTP date), usable for If-Range / If-Match.</param>
/// <param name="Redirect">Location of a 3xx.</param>
/// <param name="RetryAfter">Retry-After as a delay from now.</param>
public sealed record TransportResponse(
    int Status,
    Stream? Body = null,
    long? ContentLength = null,
    long? TotalLength = null,
    long RangeStart = 0,
    string? Validator = null,
    Uri? Redirect = null,
    TimeSpan? RetryAfter = null,
    string? Detail = null) : IDisposable
{
    internal IDisposable? Owner { get; init; }

    public void Dispose()
    {
        Body?.Dispose();
        Owner?.Dispose();
    }
}

/// <summary>Ranged reads of S3 objects. <see cref="AwsS3ObjectReader"/> is the AWSSDK.S3 implementation.</summary>
public interface IS3ObjectReader
{
    /// <summary>
    /// GET <paramref name="key"/> of <paramref name="bucket"/>, optionally a byte range, optionally only if its ETag
    /// is still <paramref name="ifMatch"/> (else status 412). Errors come back as a status, not an exception.
    /// </summary>
    Task<TransportResponse> GetAsync(string bucket, string key, ByteRange? range, string? ifMatch, CancellationToken ct);
}

/// <summary>S3 GetObject with ByteRange through AWSSDK.S3.</summary>
public sealed class AwsS3ObjectReader(IAmazonS3 client) : IS3ObjectReader
{
    public async Task<TransportResponse> GetAsync(string bucket, string key, ByteRange? range, string? ifMatch, CancellationToken ct)
    {
        var request = new GetObjectRequest { BucketName = bucket, Key = key };
        if (range is { } r) request.ByteRange = new Amazon.S3.Model.ByteRange("bytes=" + r);
        if (ifMatch is not null) request.EtagToMatch = ifMatch;
        GetObjectResponse response;
        try
        {
            response = await client.GetObjectAsync(request, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e)
        {
            return new TransportResponse((int)e.StatusCode, Detail: $"S3 {e.ErrorCode}: {e.Message}");
        }
        long? total = response.ContentLength;
        long start = 0;
        var status = (int)response.HttpStatusCode;
        if (HttpTransport.TryParseContentRange(response.ContentRange, out var crStart, out var crTotal))
        {
            start = crStart;
            total = crTotal;
            status = 206;
        }
        return new TransportResponse(status, response.ResponseStream, response.ContentLength, total, start,
            response.ETag) { Owner = response };
    }
}

/// <summary>HTTP(S) over one shared <see cref="HttpClient"/> on a <see cref="SocketsHttpHandler"/>; redirects are not followed here.</summary>
internal sealed class HttpTransport : IDisposable
{
    private readonly HttpClient _client;

    public HttpTransport(FetchSettings settings, HttpMessageHandler? handler = null)
    {
        _client = new HttpClient(handler ?? CreateHandler(settings), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("PipelineCluster-fetch/0.1");
    }

    public static SocketsHttpHandler CreateHandler(FetchSettings settings)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = settings.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            EnableMultipleHttp2Connections = true,
            UseCookies = false,
        };
        if (settings.BlockLinkLocal) handler.ConnectCallback = ConnectRefusingLinkLocalAsync;
        return handler;
    }

    private static async ValueTask<Stream> ConnectRefusingLinkLocalAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
        foreach (var a in addresses)
            if (IsLinkLocal(a))
                throw new RefusedAddressException($"refused to connect to {host}: it resolves to link-local address {a} (cloud metadata range)");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool IsLinkLocal(IPAddress a)
    {
        if (a.IsIPv4MappedToIPv6) a = a.MapToIPv4();
        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            a.TryWriteBytes(b, out _);
            return b[0] == 169 && b[1] == 254;
        }
        return a.IsIPv6LinkLocal || a.Equals(IPAddress.Parse("fd00:ec2::254"));
    }

    public async Task<TransportResponse> SendAsync(Uri uri, ByteRange? range, string? ifRange, TimeSpan responseTimeout, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (range is { } r) request.Headers.TryAddWithoutValidation("Range", "bytes=" + r);
        if (ifRange is not null && range is not null) request.Headers.TryAddWithoutValidation("If-Range", ifRange);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(responseTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no response headers from {uri.Host} within {responseTimeout.TotalSeconds:0.###} s");
        }
        try
        {
            var status = (int)response.StatusCode;
            var h = response.Headers;
            var c = response.Content.Headers;
            string? validator = h.ETag is { IsWeak: false } etag ? etag.Tag
                : c.LastModified is { } lm ? lm.ToString("R") : null;
            TimeSpan? retryAfter = h.RetryAfter switch
            {
                { Delta: { } d } => d,
                { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
                _ => null,
            };
            if (status is >= 300 and < 400)
            {
                var location = h.Location is { } loc ? (loc.IsAbsoluteUri ? loc : new Uri(uri, loc)) : null;
                response.Dispose();
                return new TransportResponse(status, Redirect: location, Detail: $"HTTP {status} {response.ReasonPhrase}");
            }
            if (status is 200 or 206)
            {
                long? total = status == 200 ? c.ContentLength : c.ContentRange?.Length;
                long start = status == 206 ? c.ContentRange?.From ?? -1 : 0;
                var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                return new TransportResponse(status, body, c.ContentLength, total, start, validator,
                    RetryAfter: retryAfter, Detail: $"HTTP/{response.Version} {status}") { Owner = response };
            }
            response.Dispose();
            return new TransportResponse(status, RetryAfter: retryAfter, Validator: validator,
                Detail: $"HTTP {status} {response.ReasonPhrase}");
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Parses <c>bytes START-END/TOTAL</c>.</summary>
    internal static bool TryParseContentRange(string? value, out long start, out long? total)
    {
        start = 0;
        total = null;
        if (string.IsNullOrEmpty(value) || !ContentRangeHeaderValue.TryParse(value, out var cr) || cr.From is null) return false;
        start = cr.From.Value;
        total = cr.Length;
        return true;
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>The transport refused an address (link-local); the fetch fails as <see cref="FetchErrorClass.Refused"/>.</summary>
internal sealed class RefusedAddressException(string message) : IOException(message);
