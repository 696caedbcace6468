namespace Pipeline.Streams.Polling;

/// <summary>One file a listing showed.</summary>
/// <param name="Location">Where to fetch it (http(s) URL, or <c>s3://bucket/key</c>).</param>
/// <param name="BaseUrl">The polled root (Sarracenia's <c>baseUrl</c>): the directory URL, or <c>s3://bucket</c>.</param>
/// <param name="RelPath">The path below <paramref name="BaseUrl"/>, unescaped, without a leading slash (the
/// S3 key for S3).</param>
/// <param name="Size">Bytes, when the listing shows them exactly.</param>
/// <param name="Modified">Listed modification time, if any.</param>
/// <param name="Version">What changes when the file changes, beyond size and time: the listed size text
/// (<c>1.2M</c>) for HTTP, the ETag for S3.</param>
public sealed record RemoteFile(Uri Location, string BaseUrl, string RelPath, long? Size, DateTimeOffset? Modified, string? Version)
{
    /// <summary>The seen-set key: the location, so one store can serve several roots.</summary>
    public string Key => Location.AbsoluteUri;

    /// <summary>The seen-set value: a file whose fingerprint changed is announced again (as an update).</summary>
    public string Fingerprint =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Size}|{Modified?.ToUnixTimeSeconds()}|{Version}");
}

/// <summary>What one listing pass found, and what it could not read (named, for the log).</summary>
public sealed record ListingResult(IReadOnlyList<RemoteFile> Files, IReadOnlyList<string> Problems);

/// <summary>A place that can be listed: a web directory tree, an S3 prefix.</summary>
public interface IRemoteLister
{
    /// <summary>For logs: the root being listed.</summary>
    string Describe { get; }

    /// <summary>
    /// Lists every file under the root. Problems that spoil part of the tree (a 500 on one subdirectory, a
    /// link escaping the root) are reported in <see cref="ListingResult.Problems"/> and the rest is returned;
    /// a failure of the whole listing (root unreachable) throws.
    /// </summary>
    Task<ListingResult> ListAsync(CancellationToken cancellationToken);
}
