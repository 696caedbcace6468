using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Streams.Tests.Fetch;

namespace Pipeline.Streams.Tests.Polling;

/// <summary>A listed file or directory (a directory's name ends with '/').</summary>
public sealed record Listed(string Name, DateTime Modified, long Size = 0);

/// <summary>
/// Directory index pages shaped like the real servers' output: Apache 2.4 <c>mod_autoindex</c> with
/// <c>HTMLTable</c> (the MSC Datamart's layout), Apache's <c>&lt;pre&gt;</c> FancyIndexing layout, and nginx
/// <c>autoindex on</c>.
/// </summary>
public static class IndexPages
{
    public enum Style { ApacheTable, ApachePre, Nginx }

    public static string Render(Style style, string path, IEnumerable<Listed> entries) => style switch
    {
        Style.ApacheTable => ApacheTable(path, entries),
        Style.ApachePre => ApachePre(path, entries),
        _ => Nginx(path, entries),
    };

    private static string Href(string name) =>
        Uri.EscapeDataString(name.TrimEnd('/')) + (name.EndsWith('/') ? "/" : "");

    /// <summary>Apache's abbreviated size column: bytes below 1 KiB, then one decimal below 10 (1.2K, 4.0M), whole above.</summary>
    public static string ApacheSize(long n)
    {
        if (n < 1024) return n.ToString(CultureInfo.InvariantCulture);
        string[] units = ["K", "M", "G", "T"];
        double v = n;
        var u = -1;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return (v < 10 ? v.ToString("0.0", CultureInfo.InvariantCulture) : Math.Round(v).ToString(CultureInfo.InvariantCulture)) + units[u];
    }

    public static string ApacheTable(string path, IEnumerable<Listed> entries)
    {
        var title = path.TrimEnd('/');
        var parent = path.TrimEnd('/');
        parent = parent[..(parent.LastIndexOf('/') + 1)];
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of ").Append(title)
            .Append("</title>\n </head>\n <body>\n<h1>Index of ").Append(title).Append("</h1>\n  <table>\n")
            .Append("   <tr><th valign=\"top\"><img src=\"/icons/blank.gif\" alt=\"[ICO]\"></th><th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last modified</a></th><th><a href=\"?C=S;O=A\">Size</a></th><th><a href=\"?C=D;O=A\">Description</a></th></tr>\n")
            .Append("   <tr><th colspan=\"5\"><hr></th></tr>\n")
            .Append("<tr><td valign=\"top\"><img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"></td><td><a href=\"").Append(parent)
            .Append("\">Parent Directory</a></td><td>&nbsp;</td><td align=\"right\">  - </td><td>&nbsp;</td></tr>\n");
        foreach (var e in entries)
        {
            var dir = e.Name.EndsWith('/');
            sb.Append("<tr><td valign=\"top\"><img src=\"/icons/").Append(dir ? "folder.gif\" alt=\"[DIR]\"" : "unknown.gif\" alt=\"[   ]\"")
                .Append("></td><td><a href=\"").Append(Href(e.Name)).Append("\">").Append(WebUtility.HtmlEncode(e.Name)).Append("</a></td><td align=\"right\">")
                .Append(e.Modified.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).Append("  </td><td align=\"right\">")
                .Append(dir ? "  - " : ApacheSize(e.Size)).Append("</td><td>&nbsp;</td></tr>\n");
        }
        sb.Append("   <tr><th colspan=\"5\"><hr></th></tr>\n</table>\n</body></html>\n");
        return sb.ToString();
    }

    public static string ApachePre(string path, IEnumerable<Listed> entries)
    {
        var title = path.TrimEnd('/');
        var parent = title[..(title.LastIndexOf('/') + 1)];
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of ").Append(title)
            .Append("</title>\n </head>\n <body>\n<h1>Index of ").Append(title).Append("</h1>\n")
            .Append("<pre><img src=\"/icons/blank.gif\" alt=\"Icon \"> <a href=\"?C=N;O=D\">Name</a>                    <a href=\"?C=M;O=A\">Last modified</a>      <a href=\"?C=S;O=A\">Size</a>  <a href=\"?C=D;O=A\">Description</a><hr>")
            .Append("<img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"> <a href=\"").Append(parent).Append("\">Parent Directory</a>                             -   \n");
        foreach (var e in entries)
        {
            var dir = e.Name.EndsWith('/');
            var shown = e.Name.Length > 23 ? e.Name[..20] + "..&gt;" : WebUtility.HtmlEncode(e.Name);
            sb.Append("<img src=\"/icons/").Append(dir ? "folder.gif\" alt=\"[DIR]\"" : "unknown.gif\" alt=\"[   ]\"").Append("> <a href=\"")
                .Append(Href(e.Name)).Append("\">").Append(shown).Append("</a>").Append(new string(' ', Math.Max(1, 24 - e.Name.Length)))
                .Append(e.Modified.ToString("dd-MMM-yyyy HH:mm", CultureInfo.InvariantCulture)).Append("  ")
                .Append((dir ? "-" : ApacheSize(e.Size)).PadLeft(4)).Append("  \n");
        }
        sb.Append("<hr></pre>\n</body></html>\n");
        return sb.ToString();
    }

    public static string Nginx(string path, IEnumerable<Listed> entries)
    {
        var sb = new StringBuilder();
        sb.Append("<html>\r\n<head><title>Index of ").Append(path).Append("</title></head>\r\n<body>\r\n<h1>Index of ").Append(path)
            .Append("</h1><hr><pre><a href=\"../\">../</a>\r\n");
        foreach (var e in entries)
        {
            var dir = e.Name.EndsWith('/');
            var shown = e.Name.Length > 50 ? e.Name[..47] + "..&gt;" : WebUtility.HtmlEncode(e.Name);
            sb.Append("<a href=\"").Append(Href(e.Name)).Append("\">").Append(shown).Append("</a>")
                .Append(new string(' ', Math.Max(1, 51 - Math.Min(50, e.Name.Length))))
                .Append(e.Modified.ToString("dd-MMM-yyyy HH:mm", CultureInfo.InvariantCulture))
                .Append((dir ? "-" : e.Size.ToString(CultureInfo.InvariantCulture)).PadLeft(20)).Append("\r\n");
        }
        sb.Append("</pre><hr></body>\r\n</html>\r\n");
        return sb.ToString();
    }

    /// <summary>Serves a page as an index (text/html) at <paramref name="path"/>, rendered at request time.</summary>
    public static void ServeIndex(this FaultServer server, string path, Style style, Func<IEnumerable<Listed>> entries) =>
        server.Route(path, async (ctx, _) =>
        {
            ctx.Response.ContentType = "text/html;charset=UTF-8";
            await ctx.Response.WriteAsync(Render(style, path, entries()));
        });

    public static void ServeHtml(this FaultServer server, string path, string html, int status = 200) =>
        server.Route(path, async (ctx, _) =>
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "text/html";
            await ctx.Response.WriteAsync(html);
        });
}

/// <summary>A logger that keeps what it was told, for asserting that problems are named.</summary>
public sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Text)> Lines => _lines.ToArray();

    public IEnumerable<string> Warnings => Lines.Where(l => l.Level >= LogLevel.Warning).Select(l => l.Text);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>A clock the test moves.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
