using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Streams.Polling;

/// <summary>
/// What a poller has announced and downstream committed: key (the file's location) to fingerprint (size,
/// modification time, ETag or listed size text) and when a listing last showed it. Kept in memory and in one
/// JSON Lines file (<c>{"k":key,"f":fingerprint,"t":unix seconds}</c>, the last line of a key wins).
/// <see cref="MarkAsync"/> appends and flushes to disk before it completes (concurrent marks share one write
/// and one flush). Entries that no listing showed for <see cref="Retention"/> are forgotten; the file is
/// compacted (rewritten to a temporary file, flushed, atomically renamed over the old one) when it holds
/// more dead lines than live ones, or when the refreshed last-seen times have not been written for a quarter of
/// the retention. A crash loses at most marks whose task had not completed: those files are announced again
/// (at-least-once), never lost. A torn last line (crash mid-append) is skipped on load.
/// </summary>
public sealed class SeenStore : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _file = new(1, 1);
    private readonly object _pendingLock = new();
    private readonly TimeProvider _clock;
    private List<(Line Line, TaskCompletionSource Done)> _pending = [];
    private bool _writing;
    private long _lines;
    private DateTimeOffset _compactedAt;

    private sealed class Entry(string fingerprint, long lastSeen)
    {
        public string Fingerprint = fingerprint;
        public long LastSeen = lastSeen;
    }

    private sealed record Line(
        [property: JsonPropertyName("k")] string Key,
        [property: JsonPropertyName("f")] string Fingerprint,
        [property: JsonPropertyName("t")] long At);

    /// <param name="path">The file; created with its directory when missing.</param>
    /// <param name="retention">How long an entry lives after a listing last showed its file.</param>
    public SeenStore(string path, TimeSpan retention, TimeProvider? clock = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (retention <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(retention), retention, "the seen-set retention must be positive");
        Path = System.IO.Path.GetFullPath(path);
        Retention = retention;
        _clock = clock ?? TimeProvider.System;
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        Load();
        _compactedAt = _clock.GetUtcNow();
    }

    public string Path { get; }

    public TimeSpan Retention { get; }

    /// <summary>Lines of the file that could not be read at load (a torn last line after a crash).</summary>
    public int SkippedLines { get; private set; }

    /// <summary>Live entries.</summary>
    public int Count
    {
        get { lock (_entries) return _entries.Count; }
    }

    /// <summary>Lines in the file now (live plus superseded).</summary>
    public long FileLines => Interlocked.Read(ref _lines);

    /// <summary>
    /// Whether <paramref name="key"/> was committed with this <paramref name="fingerprint"/>; when it was, its
    /// last-seen time is refreshed (in memory; written at the next compaction). <paramref name="known"/> tells
    /// whether the key was committed at all (with another fingerprint: the file changed).
    /// </summary>
    public bool IsSeen(string key, string fingerprint, out bool known)
    {
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out var e))
            {
                known = false;
                return false;
            }
            known = true;
            if (!string.Equals(e.Fingerprint, fingerprint, StringComparison.Ordinal)) return false;
            e.LastSeen = _clock.GetUtcNow().ToUnixTimeSeconds();
            return true;
        }
    }

    /// <summary>Records a committed file; completes once the line is on disk.</summary>
    public Task MarkAsync(string key, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fingerprint);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var line = new Line(key, fingerprint, _clock.GetUtcNow().ToUnixTimeSeconds());
        bool start;
        lock (_pendingLock)
        {
            _pending.Add((line, done));
            start = !_writing;
            if (start) _writing = true;
        }
        if (start) _ = Task.Run(WriteLoopAsync);
        return done.Task;
    }

    private async Task WriteLoopAsync()
    {
        while (true)
        {
            List<(Line Line, TaskCompletionSource Done)> batch;
            lock (_pendingLock)
            {
                if (_pending.Count == 0)
                {
                    _writing = false;
                    return;
                }
                batch = _pending;
                _pending = [];
            }
            Exception? error = null;
            await _file.WaitAsync().ConfigureAwait(false);
            try
            {
                var bytes = new MemoryStream(batch.Count * 128);
                foreach (var (line, _) in batch)
                {
                    JsonSerializer.Serialize(bytes, line, Json);
                    bytes.WriteByte((byte)'\n');
                }
                await using (var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.Asynchronous))
                {
                    await stream.WriteAsync(bytes.GetBuffer().AsMemory(0, (int)bytes.Length)).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }
                Interlocked.Add(ref _lines, batch.Count);
                lock (_entries)
                    foreach (var (line, _) in batch) Apply(line);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = new IOException($"seen-set {Path}: appending {batch.Count} entries failed: {e.Message}", e);
            }
            finally
            {
                _file.Release();
            }
            foreach (var (_, done) in batch)
                if (error is null) done.TrySetResult();
                else done.TrySetException(error);
        }
    }

    /// <summary>Drops entries that no listing showed within <see cref="Retention"/>. Returns how many.</summary>
    public int Forget()
    {
        var cutoff = (_clock.GetUtcNow() - Retention).ToUnixTimeSeconds();
        lock (_entries)
        {
            var old = _entries.Where(e => e.Value.LastSeen < cutoff).Select(e => e.Key).ToList();
            foreach (var k in old) _entries.Remove(k);
            return old.Count;
        }
    }

    /// <summary>Compacts when the file holds more superseded lines than live ones (plus slack), or when the
    /// refreshed last-seen times were last written a quarter of the retention ago. Returns whether it did.</summary>
    public async Task<bool> MaybeCompactAsync(CancellationToken cancellationToken = default)
    {
        var live = Count;
        var due = FileLines > 2L * live + 1000 || _clock.GetUtcNow() - _compactedAt > Retention / 4;
        if (!due) return false;
        await CompactAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Rewrites the file with the live entries only: temporary file, flush to disk, atomic rename.</summary>
    public async Task CompactAsync(CancellationToken cancellationToken = default)
    {
        await _file.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Line[] live;
            lock (_entries) live = _entries.Select(e => new Line(e.Key, e.Value.Fingerprint, e.Value.LastSeen)).ToArray();
            var temp = Path + ".tmp";
            await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 65536, FileOptions.Asynchronous))
            {
                foreach (var line in live)
                {
                    await JsonSerializer.SerializeAsync(stream, line, Json, cancellationToken).ConfigureAwait(false);
                    stream.WriteByte((byte)'\n');
                }
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
            Interlocked.Exchange(ref _lines, live.Length);
            _compactedAt = _clock.GetUtcNow();
        }
        finally
        {
            _file.Release();
        }
    }

    private void Load()
    {
        // A crash during compaction leaves a .tmp beside an intact file: the file is the truth.
        if (File.Exists(Path + ".tmp")) File.Delete(Path + ".tmp");
        if (!File.Exists(Path)) return;
        using var reader = new StreamReader(new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), Encoding.UTF8);
        while (reader.ReadLine() is { } text)
        {
            if (text.Length == 0) continue;
            _lines++;
            try
            {
                var line = JsonSerializer.Deserialize<Line>(text, Json);
                if (line is { Key: not null, Fingerprint: not null }) Apply(line);
                else SkippedLines++;
            }
            catch (JsonException)
            {
                SkippedLines++;
            }
        }
        Forget();
        // A torn last line must not swallow the next append: end the file with a line break.
        using var file = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (file.Length > 0)
        {
            file.Seek(-1, SeekOrigin.End);
            if (file.ReadByte() != '\n') file.WriteByte((byte)'\n');
        }
    }

    private void Apply(Line line)
    {
        if (_entries.TryGetValue(line.Key, out var e))
        {
            e.Fingerprint = line.Fingerprint;
            e.LastSeen = Math.Max(e.LastSeen, line.At);
        }
        else _entries[line.Key] = new Entry(line.Fingerprint, line.At);
    }

    public void Dispose() => _file.Dispose();
}
