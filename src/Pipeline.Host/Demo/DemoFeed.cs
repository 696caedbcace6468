using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Pipeline.Host.Demo;

/// <summary>Why an announcement is in the feed.</summary>
public enum DemoAnnouncementKind
{
    /// <summary>Announced just after the file was published.</summary>
    Normal,

    /// <summary>Announced before the file is published: the first fetch gets 404, a retry after publication 200.</summary>
    BeforePublication,

    /// <summary>A second announcement of a file already announced: same relPath, size and identity, later pubTime.</summary>
    Duplicate,
}

/// <summary>One step of the feed's plan, relative to the moment the feed starts.</summary>
/// <param name="File">The file announced.</param>
/// <param name="PublishAfter">When the data server starts serving it.</param>
/// <param name="AnnounceAfter">When the announcement is emitted.</param>
/// <param name="Kind">Normal, early (before publication) or duplicate.</param>
public sealed record DemoFeedEntry(DemoFile File, TimeSpan PublishAfter, TimeSpan AnnounceAfter, DemoAnnouncementKind Kind);

/// <summary>One emitted Sarracenia v03 notification.</summary>
/// <param name="Topic">The AMQP routing key, as the MSC Datamart posts on exchange <c>xpublic</c>:
/// <c>v03.20260115.00</c> (the prefix, then the relPath's directories). The MQTT form replaces '.' with '/'.</param>
/// <param name="Body">The v03 JSON body (pubTime, baseUrl, relPath, identity sha512, size, ...).</param>
/// <param name="At">When it was emitted, on the feed's clock.</param>
/// <param name="RelPath">The file's relPath (no leading slash).</param>
/// <param name="Kind">Why this announcement is in the feed.</param>
public sealed record DemoAnnouncement(string Topic, string Body, DateTimeOffset At, string RelPath, DemoAnnouncementKind Kind);

/// <summary>How the feed paces a run.</summary>
public sealed record DemoFeedOptions
{
    /// <summary>The whole run is announced over about this long (default 16 s). Zero emits everything at once.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(16);

    /// <summary>How many files are announced before they are published (default 2).</summary>
    public int EarlyAnnouncements { get; init; } = 2;

    /// <summary>Whether one file is announced twice (default true).</summary>
    public bool Duplicate { get; init; } = true;

    /// <summary>Whether two consecutive steps are published and announced in reverse order (default true).</summary>
    public bool OutOfOrder { get; init; } = true;

    /// <summary>The first word of the routing key (default <c>v03</c>).</summary>
    public string TopicPrefix { get; init; } = "v03";

    /// <summary>Chooses which files are early, duplicated and swapped.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// A simulated Sarracenia v03 feed for a <see cref="DemoRun"/> served by a <see cref="DemoDataServer"/>: one
/// notification per file in the shape the MSC Datamart posts (<c>pubTime</c> in the compact form
/// <c>20260115T034501.123</c>, <c>baseUrl</c> pointing at the data server, <c>relPath</c> with a leading slash,
/// <c>identity</c> {method sha512, value base64}, <c>size</c>), with realistic timing compressed into
/// <see cref="DemoFeedOptions.Duration"/>: files appear one after another, each announced shortly after it is
/// published, except a few announced before (the fetcher sees 404, then 200), two steps that come out of order,
/// and one file announced twice. <see cref="ReadAllAsync"/> schedules the publications on the server and yields
/// the notifications at their times; it is an <see cref="IAsyncEnumerable{T}"/> (wrap it with Akka.Streams'
/// <c>Source.From(() =&gt; feed.ReadAllAsync(token))</c> for a stream).
/// </summary>
public sealed class DemoFeed
{
    private readonly DemoDataServer _server;
    private readonly DemoFeedOptions _options;

    public DemoFeed(DemoRun run, DemoDataServer server, DemoFeedOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(server);
        Run = run;
        _server = server;
        _options = options ?? new DemoFeedOptions();
        if (_options.Duration < TimeSpan.Zero) throw new ArgumentException($"duration {_options.Duration} is negative", nameof(options));
        if (_options.EarlyAnnouncements < 0) throw new ArgumentException($"{_options.EarlyAnnouncements} early announcements", nameof(options));
        if (run.Files.Count == 0) throw new ArgumentException("the run has no files", nameof(run));
        Plan = MakePlan(run.Files, _options);
    }

    /// <summary>The run announced.</summary>
    public DemoRun Run { get; }

    /// <summary>Every announcement in emission order, with its publication time (relative to the start).</summary>
    public IReadOnlyList<DemoFeedEntry> Plan { get; }

    /// <summary>
    /// Starts the feed now (on the server's <see cref="DemoDataServer.TimeProvider"/>): schedules every file's
    /// publication on the server, then yields each notification when its time comes. Enumerate it once.
    /// </summary>
    public async IAsyncEnumerable<DemoAnnouncement> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var clock = _server.TimeProvider;
        var start = clock.GetUtcNow();
        foreach (var e in Plan)
        {
            // A file announced early appears only after someone has asked for it (and got 404), whatever the timing.
            if (e.Kind == DemoAnnouncementKind.BeforePublication)
                _server.PublishAfterFirstMiss(e.File.RelPath, e.PublishAfter > e.AnnounceAfter ? e.PublishAfter - e.AnnounceAfter : TimeSpan.FromSeconds(1));
            else if (e.Kind != DemoAnnouncementKind.Duplicate)
                _server.PublishAt(e.File.RelPath, start + e.PublishAfter);
        }
        foreach (var e in Plan)
        {
            var due = start + e.AnnounceAfter;
            var wait = due - clock.GetUtcNow();
            if (wait > TimeSpan.Zero) await Task.Delay(wait, clock, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            var at = clock.GetUtcNow();
            yield return new DemoAnnouncement(TopicOf(e.File.RelPath), Body(e.File, at, start + e.PublishAfter), at, e.File.RelPath, e.Kind);
        }
    }

    /// <summary>The routing key of a relPath: the prefix, then its directories joined with '.'.</summary>
    public string TopicOf(string relPath)
    {
        var dirs = relPath.Trim('/').Split('/');
        return string.Join('.', dirs.Take(dirs.Length - 1).Prepend(_options.TopicPrefix));
    }

    /// <summary>The v03 JSON body for <paramref name="file"/>, announced at <paramref name="pubTime"/>.</summary>
    public string Body(DemoFile file, DateTimeOffset pubTime, DateTimeOffset? modified = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("pubTime", Compact(pubTime));
            w.WriteString("baseUrl", _server.BaseUrl);
            w.WriteString("relPath", "/" + file.RelPath.TrimStart('/'));
            w.WriteStartObject("identity");
            w.WriteString("method", "sha512");
            w.WriteString("value", file.Sha512);
            w.WriteEndObject();
            w.WriteNumber("size", file.Size);
            w.WriteString("mtime", Compact(modified ?? pubTime));
            w.WriteString("source", "DEMO");
            w.WriteString("contentType", "application/x-grib2");
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Sarracenia's compact time: <c>20260115T034501.123</c> (UTC).</summary>
    internal static string Compact(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff", CultureInfo.InvariantCulture);

    private static List<DemoFeedEntry> MakePlan(IReadOnlyList<DemoFile> files, DemoFeedOptions o)
    {
        var n = files.Count;
        var slot = o.Duration / (n + 1);
        var latency = slot * 0.1;
        var rng = new Random(o.Seed);
        // Publication order: step order, with two neighbours (not the first file) swapped.
        var order = Enumerable.Range(0, n).ToArray();
        if (o.OutOfOrder && n >= 3)
        {
            var k = 1 + rng.Next(n - 2);
            (order[k], order[k + 1]) = (order[k + 1], order[k]);
        }
        // Files announced early: not the first one (so the run starts cleanly), picked by the seed.
        var candidates = Enumerable.Range(1, Math.Max(0, n - 1)).OrderBy(_ => rng.Next()).Take(Math.Min(o.EarlyAnnouncements, n - 1)).ToHashSet();
        var entries = new List<DemoFeedEntry>();
        for (var position = 0; position < n; position++)
        {
            var file = files[order[position]];
            var publish = slot * (position + 0.5);
            var early = candidates.Contains(position);
            var announce = early ? publish - slot * 0.6 : publish + latency;
            if (announce < TimeSpan.Zero) announce = TimeSpan.Zero;
            entries.Add(new DemoFeedEntry(file, publish, announce, early ? DemoAnnouncementKind.BeforePublication : DemoAnnouncementKind.Normal));
        }
        if (o.Duplicate && n >= 2)
        {
            // A re-post of an earlier file, a little after a later one: same identity, later pubTime.
            var original = entries[rng.Next(Math.Max(1, n / 2))];
            var after = entries[Math.Min(n - 1, entries.IndexOf(original) + 2)];
            entries.Add(new DemoFeedEntry(original.File, original.PublishAfter, after.AnnounceAfter + slot * 0.3, DemoAnnouncementKind.Duplicate));
        }
        return entries.OrderBy(e => e.AnnounceAfter).ThenBy(e => e.Kind).ToList();
    }
}
