namespace Pipeline.Streams.Fetch;

/// <summary>
/// A content-addressed file cache: <c>ROOT/sha256/ab/cd/&lt;sha256 hex&gt;</c>, plus <c>ROOT/tmp</c> for partial
/// downloads. A file appears under its final name only by an atomic rename after it was verified and flushed to disk,
/// so a reader of the cache never sees a partial or corrupt file.
/// </summary>
public sealed class ContentCache
{
    public ContentCache(string root)
    {
        Root = Path.GetFullPath(root);
        TempDirectory = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(TempDirectory);
    }

    /// <summary>Deletes partial downloads older than <paramref name="age"/> (left by a crash; they cannot be resumed without their validator).</summary>
    public int DeleteStalePartials(TimeSpan age)
    {
        var deleted = 0;
        var cutoff = DateTime.UtcNow - age;
        foreach (var f in Directory.EnumerateFiles(TempDirectory, "*.part"))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(f) < cutoff)
                {
                    File.Delete(f);
                    deleted++;
                }
            }
            catch (IOException)
            {
                // In use by another process sharing the cache: leave it.
            }
        }
        return deleted;
    }

    public string Root { get; }
    public string TempDirectory { get; }

    /// <summary>The final path of a file with this SHA-256 (lower-case hex).</summary>
    public string PathOf(string sha256Hex) =>
        Path.Combine(Root, "sha256", sha256Hex[..2], sha256Hex[2..4], sha256Hex);

    /// <summary>Every verified file in the cache (for tests and housekeeping).</summary>
    public IEnumerable<string> Files()
    {
        var dir = Path.Combine(Root, "sha256");
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories) : [];
    }

    /// <summary>
    /// Moves a verified temporary file to its content address (or drops it if that content is already there, and
    /// marks the existing file as fresh, so that <see cref="Sweep"/> leaves it to the new reader for its grace).
    /// </summary>
    public string Commit(string tempPath, string sha256Hex)
    {
        var final = PathOf(sha256Hex);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        try
        {
            File.Move(tempPath, final, overwrite: false);
        }
        catch (IOException) when (File.Exists(final))
        {
            // Same content already cached (same bytes announced twice): keep the existing file.
            File.Delete(tempPath);
            File.SetLastWriteTimeUtc(final, DateTime.UtcNow);
        }
        return final;
    }

    /// <summary>
    /// Deletes cached files (and the <c>mem-*</c> and <c>finalize-*</c> copies of downloads verified in memory) last written before
    /// <paramref name="olderThan"/> ago, except those <paramref name="keep"/> holds (the files of runs not finalized
    /// yet). The cache only carries a file from its download to its run's finalization: nothing reads a file by its
    /// content address later, and a file deleted too early is fetched again. Partial downloads are left to
    /// <see cref="DeleteStalePartials"/>.
    /// </summary>
    public CacheSweep Sweep(TimeSpan olderThan, Func<string, bool> keep)
    {
        var cutoff = DateTime.UtcNow - olderThan;
        int deleted = 0, kept = 0;
        long bytes = 0;
        // Small downloads verified in memory are written beside the cache as mem-SHA (ingest) or finalize-SHA (finalization).
        var memoryCopies = Directory.EnumerateFiles(Root, "mem-*", SearchOption.TopDirectoryOnly)
            .Concat(Directory.EnumerateFiles(Root, "finalize-*", SearchOption.TopDirectoryOnly));
        foreach (var f in Files().Concat(memoryCopies))
        {
            try
            {
                var info = new FileInfo(f);
                if (!info.Exists || info.LastWriteTimeUtc >= cutoff) continue;
                if (keep(info.FullName))
                {
                    kept++;
                    continue;
                }
                var length = info.Length;
                info.Delete();
                deleted++;
                bytes += length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to delete (a cache shared with another process): leave it.
            }
        }
        return new CacheSweep(deleted, bytes, kept);
    }
}

/// <summary>What one <see cref="ContentCache.Sweep"/> did: files and bytes deleted, old files kept because a run still needs them.</summary>
public sealed record CacheSweep(int Deleted, long Bytes, int Kept);
