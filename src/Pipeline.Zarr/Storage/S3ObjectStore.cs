using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using Amazon.S3.Model;

namespace Pipeline.Zarr.Storage;

/// <summary>
/// A store on an S3 bucket prefix. Small objects go up with one PutObject, large ones with the low-level multipart
/// calls (an upload becomes visible only when completed, and is aborted on failure), so no reader ever sees a partial
/// object. Every PutObject and UploadPart sets <c>UseChunkEncoding = false</c> (S3-compatible servers such as s3rver
/// otherwise store the chunk framing as the body). Requests are retried with exponential backoff and jitter on
/// server errors, throttling and network failures; the final error names the store and key.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StoreOptions _options;
    private readonly string _prefix;

    public S3ObjectStore(S3StoreOptions options)
        : this(options, CreateClient(options), ownsClient: true)
    {
    }

    public S3ObjectStore(S3StoreOptions options, IAmazonS3 client, bool ownsClient = false)
    {
        options.Validate();
        _options = options;
        _client = client;
        _ownsClient = ownsClient;
        _prefix = options.Prefix.Length == 0 ? "" : options.Prefix.TrimEnd('/') + "/";
    }

    public string Location => $"s3://{_options.Bucket}/{_prefix}".TrimEnd('/');

    public static IAmazonS3 CreateClient(S3StoreOptions options)
    {
        options.Validate();
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = 0, // our own retry loop (below) is the only one: predictable attempts and delays
            Timeout = options.RequestTimeout,
            // Checksums only where an operation requires them: S3-compatible servers vary in trailer support.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl is not null)
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        AWSCredentials? credentials = null;
        if (options.AccessKey is not null)
        {
            credentials = options.SessionToken is null
                ? new BasicAWSCredentials(options.AccessKey, options.SecretKey)
                : new SessionAWSCredentials(options.AccessKey, options.SecretKey, options.SessionToken);
        }
        else if (options.Profile is not null)
        {
            if (!new CredentialProfileStoreChain().TryGetAWSCredentials(options.Profile, out credentials))
                throw new ArgumentException($"S3 store: AWS profile '{options.Profile}' was not found", nameof(options));
        }
        var client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        if (options.ServiceUrl is not null) client.BeforeRequestEvent += KeepSlashesInCopySource;
        return client;
    }

    // S3-compatible servers such as s3rver split x-amz-copy-source on '/' without decoding '%2F', which the SDK writes
    // for every '/' of "bucket/key": send the slashes as they are (S3 accepts both). Runs before signing.
    private static void KeepSlashesInCopySource(object sender, RequestEventArgs e)
    {
        if (e is WebServiceRequestEventArgs { Headers: { } headers } && headers.TryGetValue("x-amz-copy-source", out var source)
            && source.Contains("%2F", StringComparison.OrdinalIgnoreCase))
            headers["x-amz-copy-source"] = source.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Creates the bucket when it does not exist (for tests and first runs).</summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken = default)
    {
        await RetryAsync("create bucket", "", async ct =>
        {
            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _options.Bucket }, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var full = FullKey(key);
        if (data.Length <= _options.MultipartThreshold)
        {
            await PutSingleAsync(key, full, data, cancellationToken).ConfigureAwait(false);
            return;
        }
        await PutMultipartAsync(key, full, data, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var full = FullKey(key);
        // Read up to the threshold: a short stream is one PutObject, a longer one a multipart upload.
        var first = new byte[_options.MultipartThreshold + 1];
        var got = await ReadFullyAsync(content, first, cancellationToken).ConfigureAwait(false);
        if (got <= _options.MultipartThreshold)
        {
            await PutSingleAsync(key, full, first.AsMemory(0, got), cancellationToken).ConfigureAwait(false);
            return;
        }
        await PutMultipartAsync(key, full, first.AsMemory(0, got), content, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        var full = FullKey(key);
        return await RetryAsync("get", key, async ct =>
        {
            try
            {
                using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = full }, ct).ConfigureAwait(false);
                return await ReadBodyAsync(response, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default)
    {
        var full = FullKey(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            _ = await HeadAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, key);
            return [];
        }
        return await RetryAsync("get range", key, async ct =>
        {
            try
            {
                using var response = await _client.GetObjectAsync(new GetObjectRequest
                {
                    BucketName = _options.Bucket, Key = full, ByteRange = new ByteRange(offset, offset + length - 1),
                }, ct).ConfigureAwait(false);
                var bytes = await ReadBodyAsync(response, ct).ConfigureAwait(false);
                // A server that ignores the Range header (s3rver does for "bytes=0-0") sends the whole object:
                // a correct partial answer is never longer than asked.
                if (bytes.Length > length && bytes.Length >= offset + length)
                    bytes = bytes.AsSpan((int)offset, length).ToArray();
                if (bytes.Length != length)
                    throw new ArgumentOutOfRangeException(nameof(offset),
                        $"range [{offset}, {offset + length}) is outside '{key}' in {Location} (got {bytes.Length} bytes)");
                return bytes;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ObjectNotFoundException(Location, key);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + length}) is outside '{key}' in {Location}");
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        var full = FullKey(key);
        return await RetryAsync("head", key, async ct =>
        {
            try
            {
                var m = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = full }, ct).ConfigureAwait(false);
                return new ObjectInfo(key, m.ContentLength, m.LastModified is { } t ? new DateTimeOffset(t.ToUniversalTime()) : null);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StoreKey.ValidatePrefix(prefix);
        string? token = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _prefix + prefix, ContinuationToken = token };
            var page = await RetryAsync("list", prefix, ct => _client.ListObjectsV2Async(request, ct), cancellationToken).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
            {
                if (!o.Key.StartsWith(_prefix, StringComparison.Ordinal)) continue;
                yield return new ObjectInfo(o.Key[_prefix.Length..], o.Size ?? 0,
                    o.LastModified is { } t ? new DateTimeOffset(t.ToUniversalTime()) : null);
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var full = FullKey(key);
        await RetryAsync("delete", key, async ct =>
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = full }, ct).ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    // Some S3-compatible servers (s3rver 3.7) do not decode '%2F' in x-amz-copy-source (the SDK encodes the '/'
    // after the bucket and in the key) and answer NoSuchKey or NoSuchBucket for an object that exists: after the
    // first such answer this store copies by get and put.
    private volatile bool _serverCopyBroken;

    /// <summary>False once the server failed a CopyObject of an object that exists (copies then go through us).</summary>
    public bool CopiesOnServer => !_serverCopyBroken;

    /// <summary>A server-side <c>CopyObject</c>; a get and a put where the server cannot copy (see above) or the object is over 5 GB.</summary>
    public async Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default)
    {
        var from = FullKey(source);
        var to = FullKey(destination);
        if (!_serverCopyBroken)
        {
            var copied = await RetryAsync($"copy from '{source}'", destination, async ct =>
            {
                try
                {
                    await _client.CopyObjectAsync(new CopyObjectRequest
                    {
                        // Metadata copied with the object (s3rver writes no checksum for a REPLACE copy: its GETs then fail the SDK's MD5 check).
                        SourceBucket = _options.Bucket, SourceKey = from, DestinationBucket = _options.Bucket, DestinationKey = to,
                    }, ct).ConfigureAwait(false);
                    return (bool?)true;
                }
                catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound || e.ErrorCode is "NoSuchKey" or "NoSuchBucket")
                {
                    return false;
                }
                catch (AmazonS3Exception e) when (e.ErrorCode is "InvalidRequest" or "EntityTooLarge")
                {
                    return null;
                }
            }, cancellationToken).ConfigureAwait(false);
            if (copied == true) return true;
            if (copied == false)
            {
                if (await HeadAsync(source, cancellationToken).ConfigureAwait(false) is null) return false;
                _serverCopyBroken = true;
            }
        }
        var data = await TryGetAsync(source, cancellationToken).ConfigureAwait(false);
        if (data is null) return false;
        await PutAsync(destination, data, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    private Task PutSingleAsync(string key, string full, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        RetryAsync("put", key, async ct =>
        {
            using var body = AsStream(data);
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _options.Bucket, Key = full, InputStream = body, AutoCloseStream = false,
                UseChunkEncoding = false, ContentType = "application/octet-stream",
            }, ct).ConfigureAwait(false);
            return 0;
        }, cancellationToken);

    // Parts come from 'data' (bytes already in memory) and then, when given, from the rest of 'more'.
    private async Task PutMultipartAsync(string key, string full, ReadOnlyMemory<byte> data, Stream? more,
        CancellationToken cancellationToken)
    {
        var init = await RetryAsync("start multipart put", key, ct => _client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = full, ContentType = "application/octet-stream" }, ct),
            cancellationToken).ConfigureAwait(false);
        var uploadId = init.UploadId;
        try
        {
            var parts = new List<PartETag>();
            var partNumber = 1;
            var pending = data;
            var buffer = more is null ? null : new byte[_options.PartSize];
            while (true)
            {
                ReadOnlyMemory<byte> part;
                if (pending.Length >= _options.PartSize || (more is null && pending.Length > 0))
                {
                    var take = Math.Min(_options.PartSize, pending.Length);
                    part = pending[..take];
                    pending = pending[take..];
                }
                else if (more is not null)
                {
                    // Top up the remainder of 'data' with bytes from the stream to a full part.
                    pending.CopyTo(buffer);
                    var got = pending.Length + await ReadFullyAsync(more, buffer.AsMemory(pending.Length), cancellationToken).ConfigureAwait(false);
                    pending = default;
                    if (got == 0) break;
                    part = buffer.AsMemory(0, got).ToArray();
                    if (got < _options.PartSize) more = null;
                }
                else
                {
                    break;
                }
                var number = partNumber++;
                var response = await RetryAsync($"put part {number}", key, async ct =>
                {
                    using var body = AsStream(part);
                    return await _client.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = _options.Bucket, Key = full, UploadId = uploadId, PartNumber = number,
                        InputStream = body, PartSize = part.Length, UseChunkEncoding = false,
                    }, ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
                parts.Add(new PartETag(number, response.ETag));
            }
            await RetryAsync("complete multipart put", key, ct => _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket, Key = full, UploadId = uploadId, PartETags = parts,
            }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
                {
                    BucketName = _options.Bucket, Key = full, UploadId = uploadId,
                }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
            {
                // The upload stays invisible either way; the bucket's lifecycle rule or a later abort reclaims it.
            }
            throw;
        }
    }

    private async Task<T> RetryAsync<T>(string operation, string key, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                if (attempt >= _options.MaxAttempts)
                    throw new ObjectStoreException(Location, key, $"{operation} (after {attempt} attempts)", e);
                var ceiling = Math.Min(_options.MaxRetryDelay.TotalMilliseconds, _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
                var delay = TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonServiceException e)
            {
                throw new ObjectStoreException(Location, key, operation, e);
            }
        }
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        AmazonServiceException s => (int)s.StatusCode >= 500 || s.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout
                                    || s.StatusCode == 0 || s.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError",
        HttpRequestException or IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // a request timeout, not our caller
        _ => false,
    };

    private string FullKey(string key) => _prefix + StoreKey.Validate(key);

    private static MemoryStream AsStream(ReadOnlyMemory<byte> data) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    private static async Task<byte[]> ReadBodyAsync(GetObjectResponse response, CancellationToken ct)
    {
        using var ms = response.ContentLength > 0 ? new MemoryStream((int)response.ContentLength) : new MemoryStream();
        await response.ResponseStream.CopyToAsync(ms, ct).ConfigureAwait(false);
        if (response.ContentLength > 0 && ms.Length != response.ContentLength)
            throw new IOException($"body ended after {ms.Length} of {response.ContentLength} bytes");
        return ms.Length == ms.Capacity ? ms.GetBuffer() : ms.ToArray();
    }

    private static async Task<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[total..], ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
