using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Pipeline.Cli;

/// <summary>A failure to report to the operator: the message and the exit code.</summary>
public sealed class CtlException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// The management API of one node over HTTP. Errors become <see cref="CtlException"/>s that say what failed and
/// where (the node's problem detail, or why it could not be reached), never echoing the token.
/// </summary>
public sealed class ManagementClient : IDisposable
{
    public const string UrlVariable = "PIPELINE_URL";
    public const string TokenVariable = "PIPELINE_TOKEN";
    public const string DefaultUrl = "http://127.0.0.1:8558";

    private readonly HttpClient _http;

    public ManagementClient(Uri baseAddress, string? token, TimeSpan? timeout = null)
    {
        BaseAddress = baseAddress;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(60) };
        if (!string.IsNullOrEmpty(token)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri BaseAddress { get; }

    /// <summary>The node from <c>--url</c>, else <c>PIPELINE_URL</c>, else the default; the token from <c>PIPELINE_TOKEN</c>.</summary>
    public static ManagementClient FromEnvironment(string? url, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var chosen = url ?? environment(UrlVariable) ?? DefaultUrl;
        if (!Uri.TryCreate(chosen, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new CtlException($"the node URL '{chosen}' is not an http(s) URL (from --url or {UrlVariable})", 2);
        return new ManagementClient(uri, environment(TokenVariable));
    }

    public Task<JsonElement> GetAsync(string path, CancellationToken cancel) => SendAsync(HttpMethod.Get, path, null, cancel);

    public Task<JsonElement> PutFormAsync(string path, IEnumerable<KeyValuePair<string, string>> form, CancellationToken cancel) =>
        SendAsync(HttpMethod.Put, path, new FormUrlEncodedContent(form), cancel);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken cancel) =>
        SendAsync(HttpMethod.Post, path, body is null ? null : new StringContent(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), Encoding.UTF8, "application/json"), cancel);

    /// <summary>Posts a text body as is (GeoJSON for boundaries).</summary>
    public Task<JsonElement> PostTextAsync(string path, string text, string mediaType, CancellationToken cancel) =>
        SendAsync(HttpMethod.Post, path, new StringContent(text, Encoding.UTF8, mediaType), cancel);

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new CtlException($"cannot reach the node at {BaseAddress}: {e.Message}", 3);
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new CtlException($"the node at {BaseAddress} did not answer {method} {path} within {_http.Timeout.TotalSeconds:0} s", 3);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancel);
            if (!response.IsSuccessStatusCode)
                throw new CtlException($"{method} {path} failed: {(int)response.StatusCode} {Describe(response.StatusCode, text)}", 1);
            if (string.IsNullOrWhiteSpace(text)) return default;
            try
            {
                return JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new CtlException($"{method} {path} answered with something that is not JSON", 1);
            }
        }
    }

    private static string Describe(HttpStatusCode status, string body)
    {
        try
        {
            var problem = JsonDocument.Parse(body).RootElement;
            if (problem.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } d) return d;
            if (problem.TryGetProperty("title", out var title) && title.GetString() is { Length: > 0 } t) return t;
        }
        catch (JsonException)
        {
        }
        return status.ToString();
    }

    public void Dispose() => _http.Dispose();
}
