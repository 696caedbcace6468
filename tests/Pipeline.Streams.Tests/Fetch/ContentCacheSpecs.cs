using Pipeline.Streams.Fetch;
using Xunit;

namespace Pipeline.Streams.Tests.Fetch;

/// <summary>
/// The download cache's sweep: files no run needs go once they are older than the retention; held, fresh and
/// partial files stay. Real files in a temporary directory; ages are set on the files, nothing waits.
/// </summary>
public sealed class ContentCacheSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-cache-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A verified file committed to the cache, its last write set <paramref name="age"/> ago.</summary>
    private static string Cached(ContentCache cache, string hex, int length, TimeSpan age)
    {
        var temp = Path.Combine(cache.TempDirectory, hex + ".tmp");
        File.WriteAllBytes(temp, new byte[length]);
        var path = cache.PathOf(hex);
        Assert.Equal(path, cache.Commit(temp, hex));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    private static string Beside(ContentCache cache, string name, TimeSpan age)
    {
        var path = Path.Combine(cache.Root, name);
        File.WriteAllBytes(path, new byte[10]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void Should_delete_only_old_files_no_run_holds_when_swept()
    {
        var cache = new ContentCache(_root);
        var old = Cached(cache, new string('a', 64), 1000, TimeSpan.FromHours(2));
        var held = Cached(cache, new string('b', 64), 2000, TimeSpan.FromHours(2));
        var fresh = Cached(cache, new string('c', 64), 3000, TimeSpan.FromMinutes(1));
        var mem = Beside(cache, "mem-" + new string('d', 64), TimeSpan.FromHours(2));
        var finalize = Beside(cache, "finalize-" + new string('e', 64), TimeSpan.FromHours(2));
        var partial = Path.Combine(cache.TempDirectory, "x.part");
        File.WriteAllBytes(partial, new byte[5]);
        File.SetLastWriteTimeUtc(partial, DateTime.UtcNow - TimeSpan.FromHours(2));

        var sweep = cache.Sweep(TimeSpan.FromMinutes(30), p => p == held);

        Assert.Equal(new CacheSweep(3, 1020, 1), sweep);
        Assert.False(File.Exists(old));
        Assert.False(File.Exists(mem));
        Assert.False(File.Exists(finalize));
        Assert.True(File.Exists(held));
        Assert.True(File.Exists(fresh));
        Assert.True(File.Exists(partial), "partial downloads are DeleteStalePartials' to judge");
        Assert.Equal([held, fresh], cache.Files().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Should_make_an_old_file_fresh_when_the_same_content_is_downloaded_again()
    {
        var cache = new ContentCache(_root);
        var hex = new string('f', 64);
        var path = Cached(cache, hex, 100, TimeSpan.FromHours(2));

        // The same bytes committed again (announced twice): the new reader must not lose the file to the next sweep.
        var temp = Path.Combine(cache.TempDirectory, "again.tmp");
        File.WriteAllBytes(temp, new byte[100]);
        Assert.Equal(path, cache.Commit(temp, hex));

        Assert.Equal(0, cache.Sweep(TimeSpan.FromMinutes(30), _ => false).Deleted);
        Assert.True(File.Exists(path));
        Assert.False(File.Exists(temp));
    }

    [Fact]
    public void Should_sweep_nothing_when_the_cache_is_empty()
    {
        Assert.Equal(new CacheSweep(0, 0, 0), new ContentCache(_root).Sweep(TimeSpan.FromSeconds(1), _ => false));
    }
}
