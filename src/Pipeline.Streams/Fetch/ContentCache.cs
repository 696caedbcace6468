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

    /// <summary>Moves a verified temporary file to its content address (or drops it if that content is already there).</summary>
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
        }
        return final;
    }
}
