namespace Pipeline.Zarr.Storage;

/// <summary>
/// Where and how an <see cref="S3ObjectStore"/> talks to S3 (AWS, MinIO, Ceph, s3rver).
/// Unset credentials fall back to the AWS SDK's usual chain: <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>
/// (+ <c>AWS_SESSION_TOKEN</c>), <c>AWS_PROFILE</c> in <c>~/.aws/credentials</c>, then instance/container roles.
/// </summary>
public sealed record S3StoreOptions
{
    public required string Bucket { get; init; }

    /// <summary>Key prefix inside the bucket ("" or e.g. <c>runs/gdps</c>); every key lives under it.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>A custom endpoint (<c>http://127.0.0.1:4569</c>); null for AWS itself.</summary>
    public string? ServiceUrl { get; init; }

    public string Region { get; init; } = "us-east-1";

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>), which most S3-compatible servers need.</summary>
    public bool ForcePathStyle { get; init; }

    public string? AccessKey { get; init; }
    public string? SecretKey { get; init; }
    public string? SessionToken { get; init; }

    /// <summary>A named profile of the shared AWS credentials file, used when no keys are given.</summary>
    public string? Profile { get; init; }

    /// <summary>Objects larger than this go up in parts (multipart upload).</summary>
    public int MultipartThreshold { get; init; } = 16 << 20;

    /// <summary>Size of one multipart part (S3's minimum is 5 MiB, except for the last part).</summary>
    public int PartSize { get; init; } = 8 << 20;

    /// <summary>Attempts per request (1 = no retry); server errors, throttling and network errors are retried.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>First retry delay; doubled each attempt (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one HTTP request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Options for <c>s3://bucket/prefix</c> with the endpoint, region and path style from the environment:
    /// <c>AWS_ENDPOINT_URL_S3</c> or <c>AWS_ENDPOINT_URL</c>, <c>AWS_REGION</c> or <c>AWS_DEFAULT_REGION</c>,
    /// <c>AWS_S3_FORCE_PATH_STYLE</c> (true by default when a custom endpoint is set), <c>AWS_PROFILE</c>.
    /// </summary>
    public static S3StoreOptions FromUri(string uri, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!uri.StartsWith("s3://", StringComparison.Ordinal))
            throw new ArgumentException($"'{uri}' is not an s3://bucket/prefix address", nameof(uri));
        var rest = uri["s3://".Length..].TrimEnd('/');
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (bucket.Length == 0) throw new ArgumentException($"'{uri}' names no bucket", nameof(uri));
        if (prefix.Length > 0) StoreKey.Validate(prefix);
        var endpoint = NonEmpty(environment("AWS_ENDPOINT_URL_S3")) ?? NonEmpty(environment("AWS_ENDPOINT_URL"));
        var pathStyle = NonEmpty(environment("AWS_S3_FORCE_PATH_STYLE")) is { } p
            ? p is "1" || p.Equals("true", StringComparison.OrdinalIgnoreCase)
            : endpoint is not null;
        return new S3StoreOptions
        {
            Bucket = bucket,
            Prefix = prefix,
            ServiceUrl = endpoint,
            Region = NonEmpty(environment("AWS_REGION")) ?? NonEmpty(environment("AWS_DEFAULT_REGION")) ?? "us-east-1",
            ForcePathStyle = pathStyle,
            Profile = NonEmpty(environment("AWS_PROFILE")),
        };
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket)) throw new ArgumentException("S3 store: Bucket is required", nameof(Bucket));
        if (Prefix.Length > 0) StoreKey.Validate(Prefix);
        if (PartSize < 5 << 20) throw new ArgumentException($"S3 store: PartSize {PartSize} is below S3's 5 MiB minimum", nameof(PartSize));
        if (MultipartThreshold < PartSize) throw new ArgumentException("S3 store: MultipartThreshold must be at least PartSize", nameof(MultipartThreshold));
        if (MaxAttempts < 1) throw new ArgumentException("S3 store: MaxAttempts must be at least 1", nameof(MaxAttempts));
        if ((AccessKey is null) != (SecretKey is null)) throw new ArgumentException("S3 store: give both AccessKey and SecretKey, or neither", nameof(AccessKey));
        if (ServiceUrl is not null && !Uri.TryCreate(ServiceUrl, UriKind.Absolute, out _))
            throw new ArgumentException($"S3 store: ServiceUrl '{ServiceUrl}' is not an absolute URL", nameof(ServiceUrl));
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
