using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Polling;

/// <summary>How often and what to announce.</summary>
/// <param name="Name">The source name the announcements carry (<see cref="Announcement.Source"/>).</param>
/// <param name="Interval">Time between the starts of two listing passes (a pass that is still being
/// consumed delays the next one).</param>
public sealed record PollSettings(string Name, TimeSpan Interval)
{
    /// <summary>Accept/reject on the file's relPath (or its URL), Sarracenia semantics. Directories are always walked.</summary>
    public AnnouncementFilter Filter { get; init; } = AnnouncementFilter.AcceptAll;

    /// <summary>Files whose listed modification time is older than this are not announced (sr3's
    /// <c>fileAgeMax</c>); null announces every age. Keep it at most the seen-set retention.</summary>
    public TimeSpan? MaxFileAge { get; init; }

    /// <summary>A whole listing pass is abandoned (and retried next interval) after this long.</summary>
    public TimeSpan ListingTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new ArgumentException("PollSettings.Name is empty", nameof(Name));
        if (Interval <= TimeSpan.Zero) throw new ArgumentException($"PollSettings.Interval must be positive, not {Interval}", nameof(Interval));
        if (MaxFileAge <= TimeSpan.Zero) throw new ArgumentException("PollSettings.MaxFileAge must be positive when set", nameof(MaxFileAge));
        if (ListingTimeout <= TimeSpan.Zero) throw new ArgumentException("PollSettings.ListingTimeout must be positive", nameof(ListingTimeout));
    }
}

/// <summary>What the last pass did (for the status page and tests).</summary>
public sealed record PollPass(DateTimeOffset At, int Listed, int Announced, int Changed, int Filtered, int TooOld,
    IReadOnlyList<string> Problems, string? Failure);

/// <summary>
/// Sources for data without a broker (Sarracenia's <c>poll</c>): web directory trees and S3 prefixes.
/// </summary>
public static class PollSource
{
    /// <summary>
    /// Lists <paramref name="lister"/> at once and then every <see cref="PollSettings.Interval"/>, and emits one
    /// element per file not committed before, keyed by location and fingerprinted by size, modification time and
    /// ETag (or listed size text): a new file is announced once, a changed file again (with relation
    /// <c>update</c>). Delivery semantics: at-least-once. A file counts as seen only when downstream calls
    /// <see cref="CommittableAnnouncements.Ack"/> and <paramref name="seen"/> has the entry on disk; an element
    /// that is emitted but not yet acked is not announced again by later passes; one nacked with requeue, one whose
    /// ack could not be written, or one lost in a crash before its ack, is announced by the next pass. A listing
    /// that fails (unreachable root, HTTP 500, S3 error) is logged and retried at the next interval; the source
    /// never fails for it (and restarts with backoff should anything else throw).
    /// </summary>
    public static Source<CommittableAnnouncements, NotUsed> Announcements(IRemoteLister lister, PollSettings settings, SeenStore seen,
        ILogger? log = null, TimeProvider? clock = null) =>
        Announcements(new Poller(lister, settings, seen, log, clock));

    /// <summary>The same, driven by a <see cref="Poller"/> the caller keeps (to read <see cref="Poller.LastPass"/>).</summary>
    public static Source<CommittableAnnouncements, NotUsed> Announcements(Poller poller)
    {
        ArgumentNullException.ThrowIfNull(poller);
        return RestartSource.WithBackoff(() =>
                Source.Tick(TimeSpan.Zero, poller.Settings.Interval, NotUsed.Instance)
                    .SelectAsync(1, _ => poller.PollOnceAsync())
                    .SelectMany(batch => batch),
            RestartSettings.Create(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), 0.2));
    }
}

/// <summary>
/// One poll source's state: the lister, the seen-set, and the files emitted but not yet resolved. Thread-safe:
/// acks arrive from any thread.
/// </summary>
public sealed class Poller
{
    private readonly IRemoteLister _lister;
    private readonly SeenStore _seen;
    private readonly ILogger _log;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, string> _inFlight = new(StringComparer.Ordinal);

    public Poller(IRemoteLister lister, PollSettings settings, SeenStore seen, ILogger? log = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(lister);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(seen);
        settings.Validate();
        _lister = lister;
        Settings = settings;
        _seen = seen;
        _log = log ?? NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
    }

    public PollSettings Settings { get; }

    /// <summary>The last pass, or null before the first.</summary>
    public PollPass? LastPass { get; private set; }

    /// <summary>Elements emitted and not yet acked or nacked.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>
    /// One listing pass: what to emit. Never throws for a listing failure (logs it and returns nothing).
    /// </summary>
    public async Task<IReadOnlyList<CommittableAnnouncements>> PollOnceAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var now = _clock.GetUtcNow();
        ListingResult listing;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Settings.ListingTimeout);
            listing = await _lister.ListAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            var reason = e is OperationCanceledException ? $"not finished within {Settings.ListingTimeout}" : $"{e.GetType().Name}: {e.Message}";
            _log.LogWarning("Poll {Source}: listing {Root} failed ({Reason}); retrying in {Interval}",
                Settings.Name, _lister.Describe, reason, Settings.Interval);
            LastPass = new PollPass(now, 0, 0, 0, 0, 0, [], reason);
            return [];
        }

        foreach (var p in listing.Problems)
            _log.LogWarning("Poll {Source}: {Problem}", Settings.Name, p);

        var emit = new List<CommittableAnnouncements>();
        int changed = 0, filtered = 0, tooOld = 0;
        var oldest = Settings.MaxFileAge is { } age ? now - age : (DateTimeOffset?)null;
        foreach (var file in listing.Files)
        {
            if (oldest is not null && file.Modified < oldest)
            {
                tooOld++;
                continue;
            }
            var key = file.Key;
            var fingerprint = file.Fingerprint;
            if (_seen.IsSeen(key, fingerprint, out var known)) continue;
            if (_inFlight.TryGetValue(key, out var flying) && flying == fingerprint) continue;
            var announcement = ToAnnouncement(file, known, now);
            if (!Settings.Filter.Evaluate(announcement).Accepted)
            {
                filtered++;
                continue;
            }
            _inFlight[key] = fingerprint;
            if (known) changed++;
            emit.Add(new CommittableAnnouncements([announcement], new PollCommit(this, key, fingerprint)));
        }

        var forgotten = _seen.Forget();
        try
        {
            await _seen.MaybeCompactAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _log.LogWarning("Poll {Source}: compacting the seen-set {Path} failed ({Reason}); the append-only file stays valid",
                Settings.Name, _seen.Path, e.Message);
        }
        LastPass = new PollPass(now, listing.Files.Count, emit.Count, changed, filtered, tooOld, listing.Problems, null);
        _log.LogInformation(
            "Poll {Source}: {Root} listed {Listed} files in {Elapsed} ms: {New} to announce ({Changed} changed), {Filtered} filtered, {TooOld} too old, {Problems} problems, {Forgotten} seen entries expired, {Seen} remembered",
            Settings.Name, _lister.Describe, listing.Files.Count, (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            emit.Count, changed, filtered, tooOld, listing.Problems.Count, forgotten, _seen.Count);
        return emit;
    }

    private Announcement ToAnnouncement(RemoteFile file, bool changed, DateTimeOffset now)
    {
        Integrity? integrity = null;
        if (file.Location.Scheme == "s3" && file.Version is { Length: 32 } etag && Formats.IsHex(etag))
            integrity = new Integrity(IntegrityMethods.Md5, Convert.ToBase64String(Convert.FromHexString(etag)));
        var slash = file.RelPath.LastIndexOf('/');
        var topic = slash <= 0 ? "v03" : "v03." + file.RelPath[..slash].Replace('/', '.');
        return new Announcement(Settings.Name, AnnouncementFormats.Poll, file.RelPath, file.Location, file.RelPath, topic,
            file.Size, integrity, now, RawV03(file, integrity, now), changed ? AnnouncementRelations.Update : null);
    }

    /// <summary>The file as a Sarracenia v03 post (what sr3 poll would have posted), kept as the raw message.</summary>
    private static string RawV03(RemoteFile file, Integrity? integrity, DateTimeOffset now)
    {
        using var buffer = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("pubTime", now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff", CultureInfo.InvariantCulture));
            w.WriteString("baseUrl", file.BaseUrl);
            w.WriteString("relPath", file.RelPath);
            if (file.Size is { } size) w.WriteNumber("size", size);
            if (file.Modified is { } m) w.WriteString("mtime", m.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture));
            if (integrity is not null)
            {
                w.WriteStartObject("identity");
                w.WriteString("method", integrity.Method);
                w.WriteString("value", integrity.Value);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    internal async Task<bool> CommitAsync(string key, string fingerprint)
    {
        try
        {
            await _seen.MarkAsync(key, fingerprint).ConfigureAwait(false);
            return true;
        }
        catch (IOException e)
        {
            _log.LogWarning("Poll {Source}: could not record {Key} as seen ({Reason}); it will be announced again",
                Settings.Name, key, e.Message);
            return false;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, string>(key, fingerprint));
        }
    }

    internal void Release(string key, string fingerprint) =>
        _inFlight.TryRemove(new KeyValuePair<string, string>(key, fingerprint));
}

/// <summary>
/// The outcome of one polled file: <see cref="Ack"/> records it in the seen-set (true once on disk);
/// <see cref="Nack"/> with requeue forgets that it was emitted, so the next pass announces it again; without
/// requeue it is recorded as seen (dropped). The first call decides; later calls return its task.
/// </summary>
internal sealed class PollCommit(Poller poller, string key, string fingerprint) : ICommittable
{
    private Task<bool>? _outcome;

    public Task<bool> Ack() => Resolve(() => poller.CommitAsync(key, fingerprint));

    public Task<bool> Nack(bool requeue) => Resolve(() =>
    {
        if (!requeue) return poller.CommitAsync(key, fingerprint);
        poller.Release(key, fingerprint);
        return Task.FromResult(true);
    });

    private Task<bool> Resolve(Func<Task<bool>> action)
    {
        lock (this)
        {
            return _outcome ??= action();
        }
    }

    public override string ToString() => $"polled {key}";
}
