namespace Pipeline.Zarr.Storage;

/// <summary>What a store knows about one object.</summary>
public sealed record ObjectInfo(string Key, long Length, DateTimeOffset? LastModified);

/// <summary>
/// A flat key/value object store (a local directory or an S3 bucket prefix). Keys are relative, '/'-separated
/// and validated by <see cref="StoreKey"/>: no key can address anything outside the store's root or prefix.
/// Every put is atomic: a reader sees the old object, the new object, or none, never a partial one.
/// All members are safe to call concurrently.
/// </summary>
public interface IObjectStore
{
    /// <summary>Where the store points, for messages and logs (e.g. <c>file:///data/zarr</c>, <c>s3://bucket/prefix</c>).</summary>
    string Location { get; }

    /// <summary>Writes (or replaces) the object atomically.</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Writes (or replaces) the object atomically from a stream read to its end (the stream is not disposed).</summary>
    Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>The object's bytes, or null when there is no such object.</summary>
    Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The bytes <c>[offset, offset + length)</c> of the object. The range must lie inside the object;
    /// a missing object throws <see cref="ObjectNotFoundException"/>, a range outside it <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default);

    /// <summary>Size and time of the object, or null when there is none.</summary>
    Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every object whose key starts with <paramref name="prefix"/> ("" for all), in ordinal key order.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Removes the object; removing a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies the object at <paramref name="source"/> to <paramref name="destination"/> (replacing it atomically, as a
    /// put does). Returns false, writing nothing, when there is no source object. Stores copy without moving the bytes
    /// through the caller where they can (a local file copy, S3 <c>CopyObject</c>); this default is a get and a put.
    /// </summary>
    async Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default)
    {
        var data = await TryGetAsync(source, cancellationToken).ConfigureAwait(false);
        if (data is null) return false;
        await PutAsync(destination, data, cancellationToken).ConfigureAwait(false);
        return true;
    }
}

/// <summary>Conveniences every store gets.</summary>
public static class ObjectStoreExtensions
{
    /// <summary>The object's bytes; throws <see cref="ObjectNotFoundException"/> naming the key when it is missing.</summary>
    public static async Task<byte[]> GetAsync(this IObjectStore store, string key, CancellationToken cancellationToken = default) =>
        await store.TryGetAsync(key, cancellationToken).ConfigureAwait(false)
        ?? throw new ObjectNotFoundException(store.Location, key);

    public static async Task<bool> ExistsAsync(this IObjectStore store, string key, CancellationToken cancellationToken = default) =>
        await store.HeadAsync(key, cancellationToken).ConfigureAwait(false) is not null;

    public static async Task<List<ObjectInfo>> ListAllAsync(this IObjectStore store, string prefix, CancellationToken cancellationToken = default)
    {
        var all = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) all.Add(info);
        return all;
    }
}

/// <summary>The store has no object under the key.</summary>
public sealed class ObjectNotFoundException(string location, string key)
    : KeyNotFoundException($"no object '{key}' in {location}")
{
    public string Location { get; } = location;
    public string Key { get; } = key;
}

/// <summary>A store operation failed (I/O error, full disk, server error after retries); names the store and key.</summary>
public sealed class ObjectStoreException(string location, string key, string operation, Exception inner)
    : IOException($"{operation} of '{key}' in {location} failed: {inner.Message}", inner)
{
    public string Location { get; } = location;
    public string Key { get; } = key;
    public string Operation { get; } = operation;
}
