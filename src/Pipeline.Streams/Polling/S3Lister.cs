using Amazon.S3;
using Amazon.S3.Model;

namespace Pipeline.Streams.Polling;

/// <summary>What to list in a bucket.</summary>
/// <param name="Bucket">The bucket.</param>
/// <param name="Prefix">Only keys starting with this (e.g. <c>nos.cbofs/</c>); empty for the whole bucket.</param>
public sealed record S3ListingSettings(string Bucket, string Prefix = "")
{
    /// <summary>List only keys after this one, in S3's UTF-8 binary order (<c>StartAfter</c>).</summary>
    public string? StartAfter { get; init; }

    /// <summary>Keys per ListObjectsV2 page (S3 caps it at 1000).</summary>
    public int PageSize { get; init; } = 1000;

    /// <summary>At most this many keys per pass.</summary>
    public int MaxFiles { get; init; } = 1_000_000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket)) throw new ArgumentException("S3ListingSettings.Bucket is empty", nameof(Bucket));
        if (PageSize is < 1 or > 1000) throw new ArgumentException($"S3ListingSettings.PageSize must be 1..1000, not {PageSize}", nameof(PageSize));
        if (MaxFiles < 1) throw new ArgumentException("S3ListingSettings.MaxFiles must be positive", nameof(MaxFiles));
    }
}

/// <summary>
/// Lists a bucket prefix with <c>ListObjectsV2</c>, following continuation tokens to the end. Keys ending in
/// <c>/</c> (folder markers) are skipped. The ETag is the file's version: an md5 ETag (single-part upload)
/// is also its integrity. Use a client with <c>ForcePathStyle</c> for S3-compatible servers.
/// </summary>
public sealed class S3Lister : IRemoteLister
{
    private readonly IAmazonS3 _s3;
    private readonly S3ListingSettings _settings;

    public S3Lister(IAmazonS3 s3, S3ListingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(s3);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _s3 = s3;
        _settings = settings;
    }

    public string Describe => $"s3://{_settings.Bucket}/{_settings.Prefix}";

    public async Task<ListingResult> ListAsync(CancellationToken cancellationToken)
    {
        var files = new List<RemoteFile>();
        var problems = new List<string>();
        var request = new ListObjectsV2Request
        {
            BucketName = _settings.Bucket,
            Prefix = string.IsNullOrEmpty(_settings.Prefix) ? null : _settings.Prefix,
            StartAfter = _settings.StartAfter,
            MaxKeys = _settings.PageSize,
        };
        var baseUrl = "s3://" + _settings.Bucket;
        var pages = 0;
        while (true)
        {
            ListObjectsV2Response response;
            try
            {
                response = await _s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e)
            {
                var where = pages == 0 ? "" : $" (page {pages + 1}, after {files.Count} keys)";
                throw new ListingFailedException($"ListObjectsV2 on {Describe} failed{where}: {(int)e.StatusCode} {e.ErrorCode} {e.Message}", e);
            }
            pages++;
            foreach (var o in response.S3Objects ?? [])
            {
                if (string.IsNullOrEmpty(o.Key) || o.Key.EndsWith('/')) continue;
                if (o.Key.Contains('\0'))
                {
                    problems.Add($"key '{o.Key.Replace("\0", "\\0", StringComparison.Ordinal)}' holds NUL; skipped");
                    continue;
                }
                if (files.Count >= _settings.MaxFiles)
                {
                    problems.Add($"more than {_settings.MaxFiles} keys under {Describe}; the rest is not listed this pass");
                    return new ListingResult(files, problems);
                }
                var location = new Uri(baseUrl + "/" + Uri.EscapeDataString(o.Key).Replace("%2F", "/", StringComparison.Ordinal));
                DateTimeOffset? modified = o.LastModified is { } t ? new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero) : null;
                files.Add(new RemoteFile(location, baseUrl, o.Key, o.Size, modified, o.ETag?.Trim('"')));
            }
            if (response.IsTruncated != true) break;
            if (string.IsNullOrEmpty(response.NextContinuationToken))
            {
                problems.Add($"page {pages} of {Describe} is truncated but carries no continuation token; stopped there");
                break;
            }
            request.ContinuationToken = response.NextContinuationToken;
            request.StartAfter = null; // the token carries the position
        }
        return new ListingResult(files, problems);
    }
}
