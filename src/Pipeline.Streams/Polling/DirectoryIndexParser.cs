using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Pipeline.Streams.Polling;

/// <summary>One link of a directory index page, as listed (before any check against the root).</summary>
/// <param name="Href">The link's target as written in the page (entity-decoded), relative or absolute.</param>
/// <param name="IsDirectory">The target ends with a slash (how Apache and nginx mark directories).</param>
/// <param name="Modified">The listed modification time (UTC; both servers list in the server's zone, the
/// Datamart's is UTC), or null when the row shows none.</param>
/// <param name="SizeText">The size column as shown: exact bytes (nginx, Apache with <c>FancyIndexing</c> off
/// sizes), an abbreviation (<c>1.2M</c>), <c>-</c> for a directory, or null.</param>
public sealed record IndexEntry(string Href, bool IsDirectory, DateTimeOffset? Modified, string? SizeText)
{
    /// <summary>The size in bytes when the listing shows it exactly (a plain integer), otherwise null.</summary>
    public long? ExactSize =>
        SizeText is not null && long.TryParse(SizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
}

/// <summary>
/// Reads the auto-generated directory index pages of Apache (<c>mod_autoindex</c>: the <c>&lt;pre&gt;</c>
/// FancyIndexing layout and the <c>HTMLTable</c> layout, as the MSC Datamart serves) and nginx
/// (<c>autoindex on</c>: a <c>&lt;pre&gt;</c> with <c>dd-Mon-yyyy HH:mm</c> dates and byte sizes).
/// Tolerant by design: it scans for anchors and reads the date and size that follow each one up to the
/// next anchor, so unknown decorations, missing columns or broken markup cost at most that row's metadata.
/// Column-sorting links (<c>?C=N;O=D</c>), fragments, <c>mailto:</c> and <c>javascript:</c> links are
/// dropped here; whether a link stays inside the polled tree is the caller's check.
/// </summary>
public static class DirectoryIndexParser
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    // href="...", href='...' or href=bare; the anchor text is not used (nginx truncates it to "name..&gt;").
    private static readonly Regex Anchor = new(
        """<a\s[^>]*?href\s*=\s*(?:"(?<h>[^"]*)"|'(?<h>[^']*)'|(?<h>[^\s>"']+))[^>]*>""",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);

    private static readonly Regex Tag = new("<[^>]*>", RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);

    // Apache: 2025-11-06 12:34[:56]; Apache 2.2 and nginx: 06-Nov-2025 12:34[:56]. Then the size column.
    private static readonly Regex DateAndSize = new(
        @"(?<d>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?|\d{1,2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}(?::\d{2})?)(?:\s+(?<s>-|\d+(?:\.\d+)?[KMGTPE]?))?",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);

    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss",
        "d-MMM-yyyy HH:mm", "d-MMM-yyyy HH:mm:ss", "dd-MMM-yyyy HH:mm", "dd-MMM-yyyy HH:mm:ss",
    ];

    /// <summary>The page's links in page order, each once (the first occurrence of an href wins).</summary>
    /// <exception cref="RegexMatchTimeoutException">The page defeats the scanner (hostile markup); the
    /// caller reports the page as unreadable.</exception>
    public static IReadOnlyList<IndexEntry> Parse(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var result = new List<IndexEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var anchors = Anchor.Matches(html);
        for (var i = 0; i < anchors.Count; i++)
        {
            var m = anchors[i];
            var href = WebUtility.HtmlDecode(m.Groups["h"].Value).Trim();
            if (href.Length == 0 || href[0] is '?' or '#' ||
                href.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) ||
                href.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase))
                continue;
            var hash = href.IndexOf('#');
            if (hash >= 0) href = href[..hash];
            if (href.Contains('?')) continue; // a query is never a file or a directory of the tree
            if (!seen.Add(href)) continue;

            // The row's tail: from this anchor to the next one (or a few hundred characters at the end)
            // (after the anchor's own text, which may itself look like a date).
            var start = m.Index + m.Length;
            var end = i + 1 < anchors.Count ? anchors[i + 1].Index : Math.Min(html.Length, start + 512);
            var close = html.IndexOf("</a>", start, end - start, StringComparison.OrdinalIgnoreCase);
            if (close >= 0) start = close + 4;
            var tail = WebUtility.HtmlDecode(Tag.Replace(html.AsSpan(start, end - start).ToString(), " "));
            // Never read into the next row of a <pre> layout: the row ends at its line break.
            DateTimeOffset? modified = null;
            string? size = null;
            var dm = DateAndSize.Match(tail);
            if (dm.Success && !tail.AsSpan(0, dm.Index).Trim().ContainsAny('\n', '\r'))
            {
                if (DateTimeOffset.TryParseExact(dm.Groups["d"].Value, DateFormats, CultureInfo.InvariantCulture,
                        DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
                    modified = t;
                if (dm.Groups["s"].Success) size = dm.Groups["s"].Value;
            }
            result.Add(new IndexEntry(href, href.EndsWith('/'), modified, size));
        }
        return result;
    }
}
