using System.Runtime.CompilerServices;

namespace Pipeline.Zarr.Storage;

/// <summary>
/// A store rooted at a local directory. A put writes a temporary file beside the target
/// (<c>.~name.&lt;random&gt;.tmp</c>, never listed) and renames it over the target, so a reader never sees a
/// partial object; on any failure (full disk, cancellation) the temporary file is removed and the old object,
/// if any, stays. With <paramref name="durable"/> the data is fsynced before the rename.
/// </summary>
public sealed class LocalDirectoryStore : IObjectStore
{
    private const string TempPrefix = ".~";
    private const string TempSuffix = ".tmp";
    private readonly string _root;
    private readonly bool _durable;

    public LocalDirectoryStore(string root, bool durable = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = Path.GetFullPath(root);
        _durable = durable;
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public string Location => "file://" + _root;

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (_durable || data.Length > SynchronousWriteLimit)
            return WriteAtomicallyAsync(key, (stream, ct) => stream.WriteAsync(data, ct).AsTask(), cancellationToken);
        // A small object (a chunk, a metadata document) is written on the calling thread: one pwrite, no hop to the
        // thread pool and back, which for thousands of chunks costs more than the write itself.
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        var temp = TempPathOf(path);
        try
        {
            using (var handle = OpenTemp(temp, FileOptions.None)) RandomAccess.Write(handle, data.Span, 0);
            File.Move(temp, path, overwrite: true);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException or UnauthorizedAccessException) return Task.FromException(new ObjectStoreException(Location, key, "put", e));
            throw;
        }
    }

    /// <summary>Puts up to this size are written synchronously (see <see cref="PutAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>).</summary>
    private const int SynchronousWriteLimit = 1 << 20;

    private static string TempPathOf(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, $"{TempPrefix}{Path.GetFileName(path)}.{Guid.NewGuid():N}{TempSuffix}");

    // Creates the temporary file; its directory is created only when missing (the first put into it), not probed
    // on every put. .NET reports ENOENT as DirectoryNotFound only when the folder is still missing as it builds the
    // exception: when a concurrent put into the same new folder has just created it, it says FileNotFound. A new
    // temporary name can miss for no other reason, so both mean "create the folder and try again".
    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenTemp(string temp, FileOptions options)
    {
        try
        {
            return File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, options);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(temp)!);
            return File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, options);
        }
    }

    public Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return WriteAtomicallyAsync(key, (stream, ct) => content.CopyToAsync(stream, 1 << 20, ct), cancellationToken);
    }

    public async Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException(Location, key, "get", e);
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
            var size = RandomAccess.GetLength(handle);
            if (offset + length > size)
                throw new ArgumentOutOfRangeException(nameof(offset),
                    $"range [{offset}, {offset + length}) is outside '{key}' in {Location} ({size} bytes)");
            var buffer = new byte[length];
            var done = 0;
            while (done < length)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(done), offset + done, cancellationToken).ConfigureAwait(false);
                if (n == 0) throw new EndOfStreamException($"'{key}' shrank while being read");
                done += n;
            }
            return buffer;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(Location, key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException(Location, key, "get range", e);
        }
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(PathOf(key));
        return Task.FromResult(info.Exists ? new ObjectInfo(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StoreKey.ValidatePrefix(prefix);
        // Walk only the deepest directory the prefix names completely, then filter by the full prefix.
        var slash = prefix.LastIndexOf('/');
        var dirKey = slash < 0 ? "" : prefix[..slash];
        var start = dirKey.Length == 0 ? _root : Path.Combine(_root, dirKey.Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(start)) yield break;
        var found = new List<ObjectInfo>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        foreach (var file in new DirectoryInfo(start).EnumerateFiles("*", options))
        {
            if (file.Name.StartsWith(TempPrefix, StringComparison.Ordinal) && file.Name.EndsWith(TempSuffix, StringComparison.Ordinal)) continue;
            var key = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal)) found.Add(new ObjectInfo(key, file.Length, file.LastWriteTimeUtc));
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var info in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException(Location, key, "delete", e);
        }
        return Task.CompletedTask;
    }

    /// <summary>A file copy into a temporary file, renamed over the destination (the kernel copies; no bytes through us).</summary>
    public Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var from = PathOf(source);
        var path = PathOf(destination);
        var temp = TempPathOf(path);
        try
        {
            try
            {
                File.Copy(from, temp);
            }
            catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException && File.Exists(from))
            {
                // The destination's folder did not exist (Linux reports ENOENT on the target as FileNotFound; a
                // concurrent copy into the same new folder may have created it since, so it is not checked).
                Directory.CreateDirectory(Path.GetDirectoryName(temp)!);
                File.Copy(from, temp);
            }
            File.Move(temp, path, overwrite: true);
            return Task.FromResult(true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && !File.Exists(from))
        {
            TryDelete(temp);
            return Task.FromResult(false);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException or UnauthorizedAccessException) return Task.FromException<bool>(new ObjectStoreException(Location, destination, $"copy from '{source}'", e));
            throw;
        }
    }

    private async Task WriteAtomicallyAsync(string key, Func<FileStream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        var temp = TempPathOf(path);
        try
        {
            await using (var stream = new FileStream(OpenTemp(temp, FileOptions.Asynchronous), FileAccess.Write, bufferSize: 0, isAsync: true))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                if (_durable) stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException or UnauthorizedAccessException) throw new ObjectStoreException(Location, key, "put", e);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the temporary name is never listed nor read, so a leftover is harmless.
        }
    }

    private string PathOf(string key)
    {
        StoreKey.Validate(key);
        var segments = key.Split('/');
        if (segments[^1].StartsWith(TempPrefix, StringComparison.Ordinal) && segments[^1].EndsWith(TempSuffix, StringComparison.Ordinal))
            throw new InvalidStoreKeyException(key, $"names of the form '{TempPrefix}*{TempSuffix}' are reserved for temporary files");
        var full = Path.GetFullPath(Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar)));
        // Defence in depth: the validated key cannot escape, and this proves it (symlinks aside, which we never create).
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidStoreKeyException(key, $"resolves outside the store root {_root}");
        return full;
    }
}
