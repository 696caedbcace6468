using System.Collections.Concurrent;
using System.Security.Cryptography;
using Pipeline.Zarr.Storage;

namespace Pipeline.Packaging.Writing;

/// <summary>
/// An object store view that remembers the size and SHA-256 of every object written through it (the last write of a
/// key wins); copies go through it as a get and a put, so they are recorded too.
/// </summary>
internal sealed class RecordingStore(IObjectStore inner) : ForwardingStore(inner)
{
    private readonly ConcurrentDictionary<string, (long Bytes, string Sha256)> _written = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, (long Bytes, string Sha256)> Written => _written;

    public override async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await Inner.PutAsync(key, data, cancellationToken).ConfigureAwait(false);
        _written[key] = (data.Length, Convert.ToHexStringLower(SHA256.HashData(data.Span)));
    }

    public override async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        await PutAsync(key, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken).ConfigureAwait(false);
    }

    public override Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default) =>
        CopyThroughAsync(source, destination, cancellationToken);
}
