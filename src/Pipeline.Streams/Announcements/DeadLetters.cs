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
    IReadOnlyDictionary<string, string>? Headers = null);

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
            if (letter is not null) yield return letter;
        }
    }

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
        lock (_letters) _letters.Add(letter);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<DeadLetter> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var l in Letters) yield return l;
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
