using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Streams.Polling;

/// <summary>How to walk a web directory tree.</summary>
/// <param name="Root">The directory to poll, e.g. <c>https://dd.weather.gc.ca/today/model_gem_global/15km/grib2/lat_lon/00/</c>.
/// A missing trailing slash is added (a directory URL ends with one).</param>
/// <param name="MaxDepth">How many levels of subdirectories to descend: 0 lists only the root's files.</param>
public sealed record HttpListingSettings(Uri Root, int MaxDepth = 0)
{
    /// <summary>A page larger than this is refused (a directory index is small; a huge one is hostile).</summary>
    public long MaxPageBytes { get; init; } = 16 << 20;

    /// <summary>At most this many directories are read per pass (guards against link farms).</summary>
    public int MaxDirectories { get; init; } = 10_000;

    /// <summary>At most this many files are returned per pass.</summary>
    public int MaxFiles { get; init; } = 1_000_000;

    /// <summary>Per page.</summary>
    public TimeSpan PageTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        if (!Root.IsAbsoluteUri || Root.Scheme is not ("http" or "https"))
            throw new ArgumentException($"HttpListingSettings.Root must be an absolute http(s) URL, not '{Root}'", nameof(Root));
        if (MaxDepth is < 0 or > 64) throw new ArgumentException($"HttpListingSettings.MaxDepth must be 0..64, not {MaxDepth}", nameof(MaxDepth));
        if (MaxPageBytes < 1024) throw new ArgumentException("HttpListingSettings.MaxPageBytes must be at least 1024", nameof(MaxPageBytes));
        if (MaxDirectories < 1 || MaxFiles < 1) throw new ArgumentException("HttpListingSettings.MaxDirectories and MaxFiles must be positive");
        if (PageTimeout <= TimeSpan.Zero) throw new ArgumentException("HttpListingSettings.PageTimeout must be positive", nameof(PageTimeout));
    }
}

/// <summary>A listing that failed as a whole (the root page could not be read).</summary>
public sealed class ListingFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Lists an Apache or nginx auto-index tree breadth-first down to <see cref="HttpListingSettings.MaxDepth"/>.
/// Every link is resolved against its page and kept only when it stays on the root's scheme, host and port and
/// below the root's path: parent links are skipped silently, other escapes (<c>../</c> beyond the page's parent,
/// absolute URLs to other hosts, encoded dot segments, redirects off the host) are reported as problems and
/// skipped. A subdirectory that fails (HTTP error, not HTML, too large, timeout) is reported and the rest of the
/// tree is still returned; only a failing root fails the pass.
/// </summary>
public sealed class HttpDirectoryLister : IRemoteLister
{
    private readonly HttpClient _http;
    private readonly HttpListingSettings _settings;
    private readonly Uri _root;

    /// <param name="http">The client to use (the caller owns it). Give it a handler with <c>AllowAutoRedirect = false</c>:
    /// the lister then follows only redirects that stay inside the root and never contacts another host; with
    /// automatic redirects the final address is still checked, but only after the request went there.</param>
    public HttpDirectoryLister(HttpClient http, HttpListingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _http = http;
        _settings = settings;
        _root = settings.Root.AbsoluteUri.EndsWith('/') ? settings.Root : new Uri(settings.Root.AbsoluteUri + "/");
    }

    public string Describe => _root.AbsoluteUri;

    public async Task<ListingResult> ListAsync(CancellationToken cancellationToken)
    {
        var files = new List<RemoteFile>();
        var fileKeys = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal) { _root.AbsoluteUri };
        var queue = new Queue<(Uri Dir, int Depth)>();
        queue.Enqueue((_root, 0));
        var pages = 0;
        while (queue.Count > 0)
        {
            var (dir, depth) = queue.Dequeue();
            if (++pages > _settings.MaxDirectories)
            {
                problems.Add($"more than {_settings.MaxDirectories} directories under {_root}; the rest is not listed this pass");
                break;
            }
            IReadOnlyList<IndexEntry> entries;
            try
            {
                entries = await ReadPageAsync(dir, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ListingFailedException or HttpRequestException or RegexMatchTimeoutException ||
                                      (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                var why = e is OperationCanceledException ? $"no answer within {_settings.PageTimeout}" : e.Message;
                if (depth == 0) throw new ListingFailedException($"listing {dir} failed: {why}", e);
                problems.Add($"{dir}: {why}; skipped this pass");
                continue;
            }

            foreach (var entry in entries)
            {
                if (!TryResolve(dir, entry.Href, out var target, out var problem))
                {
                    if (problem is not null) problems.Add($"{dir}: {problem}");
                    continue;
                }
                if (entry.IsDirectory)
                {
                    if (depth >= _settings.MaxDepth || !visited.Add(target.AbsoluteUri)) continue;
                    queue.Enqueue((target, depth + 1));
                    continue;
                }
                if (!fileKeys.Add(target.AbsoluteUri)) continue;
                if (files.Count >= _settings.MaxFiles)
                {
                    problems.Add($"more than {_settings.MaxFiles} files under {_root}; the rest is not listed this pass");
                    return new ListingResult(files, problems);
                }
                var rel = Uri.UnescapeDataString(target.AbsolutePath[_root.AbsolutePath.Length..]);
                files.Add(new RemoteFile(target, _root.AbsoluteUri, rel, entry.ExactSize, entry.Modified, entry.SizeText));
            }
        }
        return new ListingResult(files, problems);
    }

    /// <summary>
    /// Keeps a link only when it is strictly below <paramref name="page"/> on the root's origin. A null
    /// <paramref name="problem"/> with false means "skip quietly" (the parent directory, the page itself).
    /// </summary>
    private bool TryResolve(Uri page, string href, out Uri target, out string? problem)
    {
        target = page;
        problem = null;
        if (!Uri.TryCreate(page, href, out var resolved) || resolved is null)
        {
            problem = $"link '{Clip(href)}' is not a URL";
            return false;
        }
        if (!string.Equals(resolved.Scheme, _root.Scheme, StringComparison.OrdinalIgnoreCase) ||
            !string.Equals(resolved.Authority, _root.Authority, StringComparison.OrdinalIgnoreCase))
        {
            problem = $"link '{Clip(href)}' leaves {_root.GetLeftPart(UriPartial.Authority)} (to {Clip(resolved.GetLeftPart(UriPartial.Authority))}); not followed";
            return false;
        }
        var path = resolved.AbsolutePath;
        if (page.AbsolutePath.StartsWith(path, StringComparison.Ordinal))
            return false; // the page itself, its parent or an ancestor: every index has them
        if (!path.StartsWith(page.AbsolutePath, StringComparison.Ordinal))
        {
            problem = path.StartsWith(_root.AbsolutePath, StringComparison.Ordinal)
                ? $"link '{Clip(href)}' points sideways to {Clip(path)}, not below this page; not followed"
                : $"link '{Clip(href)}' escapes the polled root {_root.AbsolutePath} (to {Clip(path)}); not followed";
            return false;
        }
        // Percent-encoded dot segments and NUL survive Uri normalisation; a server may still honour them.
        foreach (var segment in path[_root.AbsolutePath.Length..].Split('/'))
        {
            var s = Uri.UnescapeDataString(segment);
            if (s is "." or ".." || s.Contains('\0') || s.Contains('\\') || (s.Contains('/') && segment.Contains('%')))
            {
                problem = $"link '{Clip(href)}' holds an encoded dot segment or separator; not followed";
                return false;
            }
        }
        target = new Uri(resolved.GetLeftPart(UriPartial.Path));
        return true;
    }

    private async Task<IReadOnlyList<IndexEntry>> ReadPageAsync(Uri dir, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.PageTimeout);
        var url = dir;
        HttpResponseMessage response;
        for (var hops = 0; ; hops++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("text/html");
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            // A client that follows redirects itself still gets its final address checked.
            var final = response.RequestMessage?.RequestUri ?? url;
            if (!Inside(final))
            {
                response.Dispose();
                throw new ListingFailedException($"redirected to {final}, outside the polled root {_root}");
            }
            var status = (int)response.StatusCode;
            if (status is < 300 or > 399 || response.Headers.Location is null) break;
            var next = new Uri(final, response.Headers.Location);
            response.Dispose();
            if (!Inside(next)) throw new ListingFailedException($"redirected to {next}, outside the polled root {_root}; not followed");
            if (hops >= 4) throw new ListingFailedException($"more than 5 redirects from {dir}");
            url = next;
        }
        using var _ = response;
        if (!response.IsSuccessStatusCode)
            throw new ListingFailedException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is not null && !mediaType.Contains("html", StringComparison.OrdinalIgnoreCase))
            throw new ListingFailedException($"answered {mediaType}, not an HTML directory index");
        if (response.Content.Headers.ContentLength > _settings.MaxPageBytes)
            throw new ListingFailedException($"index page is {response.Content.Headers.ContentLength} bytes, more than {_settings.MaxPageBytes}");

        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await body.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > _settings.MaxPageBytes)
                throw new ListingFailedException($"index page is more than {_settings.MaxPageBytes} bytes");
            buffer.Write(chunk, 0, n);
        }
        var charset = response.Content.Headers.ContentType?.CharSet;
        Encoding encoding;
        try { encoding = charset is null ? Encoding.UTF8 : Encoding.GetEncoding(charset.Trim('"')); }
        catch (ArgumentException) { encoding = Encoding.UTF8; }
        return DirectoryIndexParser.Parse(encoding.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private bool Inside(Uri u) =>
        string.Equals(u.Scheme, _root.Scheme, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(u.Authority, _root.Authority, StringComparison.OrdinalIgnoreCase) &&
        u.AbsolutePath.StartsWith(_root.AbsolutePath, StringComparison.Ordinal);

    private static string Clip(string s) => s.Length <= 100 ? s : s[..97] + "...";

}
