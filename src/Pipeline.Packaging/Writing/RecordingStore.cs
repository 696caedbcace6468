using System.Collections.Concurrent;
using System.Security.Cryptography;
using Pipeline.Zarr.Storage;

namespace Pipeline.Packaging.Writing;

/// <summary>An object store view that remembers the size and SHA-256 of every object written through it (the last write of a key wins).</summary>
internal sealed class RecordingStore(IObjectStore inner) : IObjectStore
{
    private readonly ConcurrentDictionary<string, (long Bytes, string Sha256)> _written = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, (long Bytes, string Sha256)> Written => _written;

    public string Location => inner.Location;

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await inner.PutAsync(key, data, cancellationToken).ConfigureAwait(false);
        _written[key] = (data.Length, Convert.ToHexStringLower(SHA256.HashData(data.Span)));
    }

    public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        await PutAsync(key, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken).ConfigureAwait(false);
    }

    public Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default) => inner.TryGetAsync(key, cancellationToken);

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) =>
        inner.GetRangeAsync(key, offset, length, cancellationToken);

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) => inner.HeadAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
}

/// <summary>A view of a store under a key prefix.</summary>
internal sealed class SubStore(IObjectStore inner, string prefix) : IObjectStore
{
    private string K(string key) => prefix.Length == 0 ? key : prefix + "/" + key;

    public string Location => inner.Location.TrimEnd('/') + "/" + prefix;

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(K(key), data, cancellationToken);

    public Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutAsync(K(key), content, cancellationToken);

    public Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default) => inner.TryGetAsync(K(key), cancellationToken);

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) =>
        inner.GetRangeAsync(K(key), offset, length, cancellationToken);

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) =>
        await inner.HeadAsync(K(key), cancellationToken).ConfigureAwait(false) is { } o ? o with { Key = key } : null;

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string p, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var o in inner.ListAsync(K(p), cancellationToken).ConfigureAwait(false))
            yield return o with { Key = prefix.Length == 0 ? o.Key : o.Key[(prefix.Length + 1)..] };
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(K(key), cancellationToken);
}
