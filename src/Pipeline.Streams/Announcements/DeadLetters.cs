using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Streams.Announcements;

/// <summary>A message we could not or would not use, parked with why.</summary>
/// <param name="Source">The configured source (or sink) name.</param>
/// <param name="Reason">What was wrong and where (a parser's rejection, a filter verdict, a publish failure).</param>
/// <param name="At">When it was parked.</param>
/// <param name="Topic">The topic or routing key it came on, if any.</param>
/// <param name="Body">The raw body, verbatim.</param>
/// <param name="Headers">Broker headers, if any.</param>
public sealed record DeadLetter(
    string Source,
    string Reason,
    DateTimeOffset At,
    string? Topic,
    string Body,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>
    /// Stable identity within its store, for listing, replay and removal: assigned by the store when parked
    /// (a time-ordered UUID v7, 32 hex digits); letters parked before ids existed get <c>h-</c> and a hash of
    /// their stored line.
    /// </summary>
    public string? Id { get; init; }

    /// <summary>A new id: time-ordered, so ids sort roughly by parking time.</summary>
    public static string NewId() => Guid.CreateVersion7().ToString("N");
}

/// <summary>Which parked letters to list or replay. Every criterion given must hold; none given selects all.</summary>
/// <param name="Ids">Exactly these letters.</param>
/// <param name="Source">Parked by this source (exact, case-sensitive).</param>
/// <param name="ReasonContains">Whose reason contains this text (ordinal, case-insensitive), e.g. <c>filtered</c>.</param>
/// <param name="Since">Parked at or after.</param>
/// <param name="Until">Parked before.</param>
public sealed record DeadLetterQuery(
    IReadOnlyCollection<string>? Ids = null,
    string? Source = null,
    string? ReasonContains = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null)
{
    public static DeadLetterQuery All { get; } = new();

    public bool Matches(DeadLetter letter) =>
        (Ids is null || (letter.Id is not null && Ids.Contains(letter.Id))) &&
        (Source is null || letter.Source == Source) &&
        (ReasonContains is null || letter.Reason.Contains(ReasonContains, StringComparison.OrdinalIgnoreCase)) &&
        (Since is null || letter.At >= Since) &&
        (Until is null || letter.At < Until);
}

/// <summary>One page of a listing.</summary>
/// <param name="Letters">The page, oldest first.</param>
/// <param name="Total">How many letters match the query in all.</param>
/// <param name="Unreadable">Lines of the store that are not letters (a torn last line after a crash); kept, never removed.</param>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetter> Letters, int Total, int Unreadable = 0);

/// <summary>
/// Where rejected and undeliverable messages go. Parking is durable when the returned task completes; the
/// caller acks the broker message only then, so a message is parked or redelivered, never lost and never
/// requeued forever.
/// </summary>
public interface IDeadLetterStore
{
    Task ParkAsync(DeadLetter letter, CancellationToken cancellationToken = default);

    /// <summary>Everything parked so far, oldest first (for inspection and replay).</summary>
    IAsyncEnumerable<DeadLetter> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The letters matching <paramref name="query"/>, oldest first, skipping <paramref name="offset"/> and
    /// returning at most <paramref name="limit"/> (what <c>GET /api/deadletters</c> serves).
    /// </summary>
    async Task<DeadLetterPage> ListAsync(DeadLetterQuery? query = null, int offset = 0, int limit = int.MaxValue,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var q = query ?? DeadLetterQuery.All;
        var page = new List<DeadLetter>();
        var total = 0;
        await foreach (var l in ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!q.Matches(l)) continue;
            if (total >= offset && page.Count < limit) page.Add(l);
            total++;
        }
        return new DeadLetterPage(page, total);
    }

    /// <summary>
    /// Removes the letters with these ids (durably, when the task completes); unknown ids are ignored.
    /// Returns how many were removed. Stores that cannot remove throw <see cref="NotSupportedException"/>.
    /// </summary>
    Task<int> RemoveAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot remove dead letters");
}

/// <summary>
/// Dead letters as JSON Lines in one file (one object per line: source, reason, at, topic, body, headers),
/// appended and flushed to disk before <see cref="ParkAsync"/> completes. Safe for concurrent callers.
/// </summary>
public sealed class FileDeadLetterStore : IDeadLetterStore, IDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly SemaphoreSlim _gate = new(1, 1);

    public FileDeadLetterStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
    }

    public string Path { get; }

    public async Task ParkAsync(DeadLetter letter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (letter.Id is null) letter = letter with { Id = DeadLetter.NewId() };
        var line = JsonSerializer.SerializeToUtf8Bytes(letter, Json);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 4096, FileOptions.Asynchronous);
            await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            stream.WriteByte((byte)'\n');
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async IAsyncEnumerable<DeadLetter> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path)) yield break;
        using var reader = new StreamReader(new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), Encoding.UTF8);
        var lineNo = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            DeadLetter? letter;
            try
            {
                letter = JsonSerializer.Deserialize<DeadLetter>(line, Json);
            }
            catch (JsonException e)
            {
                // A torn last line after a crash: report where, keep the rest readable.
                throw new InvalidDataException($"{Path} line {lineNo} is not a dead letter: {e.Message}", e);
            }
            if (letter is not null) yield return letter.Id is null ? letter with { Id = LegacyId(line) } : letter;
        }
    }

    /// <summary>Like the default, but a line that is not a letter is counted in <see cref="DeadLetterPage.Unreadable"/>
    /// instead of failing the listing.</summary>
    public async Task<DeadLetterPage> ListAsync(DeadLetterQuery? query = null, int offset = 0, int limit = int.MaxValue,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var q = query ?? DeadLetterQuery.All;
        var page = new List<DeadLetter>();
        int total = 0, unreadable = 0;
        if (!File.Exists(Path)) return new DeadLetterPage(page, 0);
        using var reader = new StreamReader(new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0) continue;
            var letter = TryRead(line);
            if (letter is null)
            {
                unreadable++;
                continue;
            }
            if (!q.Matches(letter)) continue;
            if (total >= offset && page.Count < limit) page.Add(letter);
            total++;
        }
        return new DeadLetterPage(page, total, unreadable);
    }

    /// <summary>
    /// Rewrites the file without the letters whose ids are given: the kept lines, verbatim (unreadable ones too),
    /// go to a temporary file beside it, which is flushed to disk and atomically renamed over the store. Parking
    /// waits meanwhile, so nothing parked concurrently is lost.
    /// </summary>
    public async Task<int> RemoveAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0) return 0;
        var remove = ids as IReadOnlySet<string> ?? new HashSet<string>(ids, StringComparer.Ordinal);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(Path)) return 0;
            var temp = Path + ".tmp";
            var removed = 0;
            using (var reader = new StreamReader(new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), Encoding.UTF8))
            await using (var writer = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 65536, FileOptions.Asynchronous))
            {
                var newline = new[] { (byte)'\n' };
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    if (line.Length == 0) continue;
                    var letter = TryRead(line);
                    if (letter?.Id is { } id && remove.Contains(id))
                    {
                        removed++;
                        continue;
                    }
                    await writer.WriteAsync(Encoding.UTF8.GetBytes(line), cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(newline, cancellationToken).ConfigureAwait(false);
                }
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                writer.Flush(flushToDisk: true);
            }
            if (removed == 0)
            {
                File.Delete(temp);
                return 0;
            }
            File.Move(temp, Path, overwrite: true);
            return removed;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static DeadLetter? TryRead(string line)
    {
        try
        {
            var letter = JsonSerializer.Deserialize<DeadLetter>(line, Json);
            if (letter is null || letter.Source is null || letter.Body is null || letter.Reason is null) return null;
            return letter.Id is null ? letter with { Id = LegacyId(line) } : letter;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A stable id for a line parked before letters had ids: a hash of the line.</summary>
    private static string LegacyId(string line) =>
        "h-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(line)).AsSpan(0, 12));

    public void Dispose() => _gate.Dispose();
}

/// <summary>An in-memory store for tests and the embedded demo.</summary>
public sealed class InMemoryDeadLetterStore : IDeadLetterStore
{
    private readonly List<DeadLetter> _letters = [];

    public IReadOnlyList<DeadLetter> Letters
    {
        get { lock (_letters) return _letters.ToArray(); }
    }

    public Task ParkAsync(DeadLetter letter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (letter.Id is null) letter = letter with { Id = DeadLetter.NewId() };
        lock (_letters) _letters.Add(letter);
        return Task.CompletedTask;
    }

    public Task<int> RemoveAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var remove = new HashSet<string>(ids, StringComparer.Ordinal);
        lock (_letters) return Task.FromResult(_letters.RemoveAll(l => l.Id is not null && remove.Contains(l.Id)));
    }

    public async IAsyncEnumerable<DeadLetter> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var l in Letters) yield return l;
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
