using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Ingest;

/// <summary>
/// Where the node finds the local copy of a file it processed (the fetch cache), so that finalization does not
/// download it again. Entries are hints: a missing or deleted path is fetched again. With a directory, every entry is
/// also kept on disk (one small JSON file per file, under a folder per run, written by temp file and rename) and read
/// back at start: a node that restarts before a run is finalized finds the run's files in its cache instead of
/// downloading them all again, and cache housekeeping keeps them meanwhile. An entry that cannot be read is skipped.
/// A run is forgotten where it is finalized; on the other nodes of a cluster its entries lapse after the hold limit
/// (see <see cref="Held"/>), so their files do not stay in the cache for good.
/// </summary>
public sealed class LocalFiles
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly string? _directory;
    private readonly TimeProvider _clock;

    public LocalFiles(TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
    }

    /// <param name="directory">Where the entries are kept across restarts (created if missing).</param>
    /// <param name="clock">When entries are remembered (for the hold limit).</param>
    public LocalFiles(string directory, TimeProvider? clock = null)
        : this(clock)
    {
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
        foreach (var file in Directory.EnumerateFiles(_directory, "*.json", SearchOption.AllDirectories))
        {
            try
            {
                var entry = JsonSerializer.Deserialize<Entry>(File.ReadAllBytes(file));
                if (entry is { Run.Length: > 0, DataId.Length: > 0, Path.Length: > 0 } && System.IO.Path.IsPathFullyQualified(entry.Path))
                    _entries[Key(entry.Run, entry.DataId)] = entry;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                // A torn or foreign file: the file it named is fetched again if finalization needs it.
            }
        }
    }

    public void Remember(ModelRunId run, string dataId, string path)
    {
        var entry = new Entry(run.ToString(), dataId, System.IO.Path.GetFullPath(path), _clock.GetUtcNow());
        _entries[Key(entry.Run, dataId)] = entry;
        if (_directory is null) return;
        var target = FileOf(entry.Run, dataId);
        var temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(entry));
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A hint only: this node still knows the path; after a restart the file would be fetched again.
            Delete(temp);
        }
    }

    public string? Find(ModelRunId run, string dataId) =>
        _entries.TryGetValue(Key(run.ToString(), dataId), out var e) && File.Exists(e.Path) ? e.Path : null;

    /// <summary>
    /// The full paths of every file a run not finalized yet still needs (what cache housekeeping must keep). Entries
    /// remembered longer than <paramref name="limit"/> ago are forgotten here: the run was finalized on another node,
    /// or it has waited so long that fetching its files again at finalization is the lesser cost.
    /// </summary>
    public HashSet<string> Held(TimeSpan limit)
    {
        var cutoff = _clock.GetUtcNow() - limit;
        foreach (var (key, e) in _entries)
        {
            if (e.At >= cutoff || !_entries.TryRemove(new KeyValuePair<string, Entry>(key, e))) continue;
            if (_directory is not null) Delete(FileOf(e.Run, e.DataId));
        }
        return [.. _entries.Values.Select(e => e.Path)];
    }

    public void ForgetRun(ModelRunId run)
    {
        var prefix = Key(run.ToString(), "");
        foreach (var k in _entries.Keys)
            if (k.StartsWith(prefix, StringComparison.Ordinal))
                _entries.TryRemove(k, out _);
        if (_directory is null) return;
        try
        {
            var folder = System.IO.Path.Combine(_directory, Hash(run.ToString()));
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: read back at the next start, and lapsing after the hold limit.
        }
    }

    private static string Key(string run, string dataId) => run + "\n" + dataId;

    private string FileOf(string run, string dataId) => System.IO.Path.Combine(_directory!, Hash(run), Hash(dataId) + ".json");

    private static void Delete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An entry read back at the next start lapses again then; a temp file is never read.
        }
    }

    // File names from names that may hold anything a broker sent: the first 128 bits of their SHA-256, in hex.
    private static string Hash(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 16));

    private sealed record Entry(string Run, string DataId, string Path, DateTimeOffset At);
}
