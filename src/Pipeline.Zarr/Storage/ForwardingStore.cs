using System.Runtime.CompilerServices;

namespace Pipeline.Zarr.Storage;

/// <summary>
/// A store that passes every call to an inner store: decorators derive from it and override only what they change
/// (which puts pass, what is counted or recorded). <see cref="CopyAsync"/> forwards too, so a decorator that must
/// see the bytes of a copy overrides it with <see cref="CopyThroughAsync"/>.
/// </summary>
public abstract class ForwardingStore(IObjectStore inner) : IObjectStore
{
    protected IObjectStore Inner { get; } = inner;

    public virtual string Location => Inner.Location;

    public virtual Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => Inner.PutAsync(key, data, cancellationToken);

    public virtual Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default) => Inner.PutAsync(key, content, cancellationToken);

    public virtual Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default) => Inner.TryGetAsync(key, cancellationToken);

    public virtual Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) =>
        Inner.GetRangeAsync(key, offset, length, cancellationToken);

    public virtual Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) => Inner.HeadAsync(key, cancellationToken);

    public virtual IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => Inner.ListAsync(prefix, cancellationToken);

    public virtual Task DeleteAsync(string key, CancellationToken cancellationToken = default) => Inner.DeleteAsync(key, cancellationToken);

    public virtual Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default) =>
        Inner.CopyAsync(source, destination, cancellationToken);

    /// <summary>A copy by a get and a put through this store (so that its put sees the bytes); false when there is no source.</summary>
    protected async Task<bool> CopyThroughAsync(string source, string destination, CancellationToken cancellationToken)
    {
        var data = await TryGetAsync(source, cancellationToken).ConfigureAwait(false);
        if (data is null) return false;
        await PutAsync(destination, data, cancellationToken).ConfigureAwait(false);
        return true;
    }
}

/// <summary>A view of a store under a key prefix (what a per-file or per-run Zarr writer, or a package, is given).</summary>
public sealed class PrefixedStore(IObjectStore inner, string prefix) : IObjectStore
{
    private readonly string _prefix = StoreKey.ValidatePrefix(prefix).TrimEnd('/');

    public IObjectStore Inner { get; } = inner;

    public string Prefix => _prefix;

    public string Location => Inner.Location.TrimEnd('/') + "/" + _prefix;

    private string K(string key) => _prefix.Length == 0 ? StoreKey.Validate(key) : _prefix + "/" + StoreKey.Validate(key);

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => Inner.PutAsync(K(key), data, cancellationToken);

    public Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default) => Inner.PutAsync(K(key), content, cancellationToken);

    public Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default) => Inner.TryGetAsync(K(key), cancellationToken);

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) =>
        Inner.GetRangeAsync(K(key), offset, length, cancellationToken);

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) =>
        await Inner.HeadAsync(K(key), cancellationToken).ConfigureAwait(false) is { } o ? o with { Key = key } : null;

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var full = _prefix.Length == 0 ? prefix : _prefix + "/" + prefix;
        await foreach (var o in Inner.ListAsync(full, cancellationToken).ConfigureAwait(false))
            yield return o with { Key = _prefix.Length == 0 ? o.Key : o.Key[(_prefix.Length + 1)..] };
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => Inner.DeleteAsync(K(key), cancellationToken);

    public Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default) =>
        Inner.CopyAsync(K(source), K(destination), cancellationToken);
}
