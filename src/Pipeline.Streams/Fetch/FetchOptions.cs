namespace Pipeline.Streams.Fetch;

/// <summary>
/// Politeness limits for one host. They hold across every dataset that fetches from the host and across retries:
/// each HTTP request (first attempt, retry, redirect hop, ranged part) takes one request token and one connection slot.
/// </summary>
/// <param name="RequestsPerSecond">Sustained request rate; bursts up to <paramref name="Burst"/>.</param>
/// <param name="MaxConnections">Concurrent requests in flight to the host.</param>
/// <param name="BandwidthBytesPerSecond">Optional cap on body bytes per second, summed over all connections; null = none.</param>
/// <param name="Burst">Requests allowed at once before the rate applies.</param>
public sealed record HostLimits(
    double RequestsPerSecond = 20,
    int MaxConnections = 8,
    long? BandwidthBytesPerSecond = null,
    int Burst = 8)
{
    public IEnumerable<string> Validate(string prefix)
    {
        if (!(RequestsPerSecond > 0) || double.IsInfinity(RequestsPerSecond))
            yield return $"{prefix}.RequestsPerSecond must be a positive finite number (was {RequestsPerSecond})";
        if (MaxConnections is < 1 or > 1024)
            yield return $"{prefix}.MaxConnections must be 1..1024 (was {MaxConnections})";
        if (BandwidthBytesPerSecond is <= 0)
            yield return $"{prefix}.BandwidthBytesPerSecond must be positive or null (was {BandwidthBytesPerSecond})";
        if (Burst < 1)
            yield return $"{prefix}.Burst must be at least 1 (was {Burst})";
    }
}

/// <summary>
/// How one dataset is fetched: where from, how politely, how persistently, and what is accepted.
/// One record per dataset; <see cref="FetchSettings"/> holds the defaults and the per-dataset and per-host overrides.
/// </summary>
public sealed record FetchOptions
{
    /// <summary>Hosts this dataset may fetch from (and be redirected to): exact names or <c>*.suffix</c>. For s3:// the bucket name.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>Urgent datasets (warnings) take a host's free connection before any bulk waiter and run in their own lane.</summary>
    public bool Urgent { get; init; }

    /// <summary>Limits applied to this dataset's hosts unless <see cref="FetchSettings.Hosts"/> names the host.</summary>
    public HostLimits Limits { get; init; } = new();

    /// <summary>How long a 404 (not yet published) is retried, counted from the first attempt.</summary>
    public TimeSpan NotFoundDeadline { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Treat 403 like 404 (servers that deny access to files not yet published).</summary>
    public bool RetryForbiddenAsNotFound { get; init; }

    /// <summary>First wait after a 404; doubles up to <see cref="NotFoundMaxDelay"/>.</summary>
    public TimeSpan NotFoundInitialDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan NotFoundMaxDelay { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>First wait after a transient failure (5xx, 429, timeout, reset); doubles with full jitter up to <see cref="TransientMaxDelay"/>.</summary>
    public TimeSpan TransientInitialDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan TransientMaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Transient failures tolerated per file before it fails.</summary>
    public int MaxTransientRetries { get; init; } = 8;

    /// <summary>Verification failures (checksum, size, content) tolerated per file before it fails as corrupt.</summary>
    public int MaxCorruptRetries { get; init; } = 1;

    /// <summary>Longest <c>Retry-After</c> honoured; a longer one is clipped to this.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest file accepted, in bytes.</summary>
    public long MaxSize { get; init; } = 4L << 30;

    /// <summary>Files whose size is known up front and at most this many bytes are returned in memory, never cached on disk.</summary>
    public int InMemoryThreshold { get; init; } = 64 * 1024;

    /// <summary>Time to wait for the response headers.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest silence between two body reads before the attempt counts as timed out (and is resumed).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Redirect hops followed (each target host must be allowed).</summary>
    public int MaxRedirects { get; init; } = 5;

    /// <summary>Check the content's signature (GRIB, HDF5, NetCDF) from the file name, and reject HTML/XML served as data.</summary>
    public bool SniffContent { get; init; } = true;

    /// <summary>The errors in this record, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate(string name)
    {
        var errors = new List<string>();
        if (AllowedHosts.Count == 0)
            errors.Add($"{name}.AllowedHosts must list at least one host (an empty list would allow nothing)");
        foreach (var h in AllowedHosts)
            if (string.IsNullOrWhiteSpace(h) || h.Contains('/') || h.Contains(':') && !h.StartsWith('['))
                errors.Add($"{name}.AllowedHosts contains '{h}', which is not a host name (no scheme, port or path)");
        errors.AddRange(Limits.Validate($"{name}.Limits"));
        void Positive(TimeSpan t, string setting)
        {
            if (t <= TimeSpan.Zero) errors.Add($"{name}.{setting} must be positive (was {t})");
        }
        void NotNegative(TimeSpan t, string setting)
        {
            if (t < TimeSpan.Zero) errors.Add($"{name}.{setting} must not be negative (was {t})");
        }
        NotNegative(NotFoundDeadline, nameof(NotFoundDeadline));
        Positive(NotFoundInitialDelay, nameof(NotFoundInitialDelay));
        Positive(NotFoundMaxDelay, nameof(NotFoundMaxDelay));
        Positive(TransientInitialDelay, nameof(TransientInitialDelay));
        Positive(TransientMaxDelay, nameof(TransientMaxDelay));
        NotNegative(MaxRetryAfter, nameof(MaxRetryAfter));
        Positive(ResponseTimeout, nameof(ResponseTimeout));
        Positive(ReadTimeout, nameof(ReadTimeout));
        if (NotFoundMaxDelay < NotFoundInitialDelay)
            errors.Add($"{name}.NotFoundMaxDelay ({NotFoundMaxDelay}) must not be below NotFoundInitialDelay ({NotFoundInitialDelay})");
        if (TransientMaxDelay < TransientInitialDelay)
            errors.Add($"{name}.TransientMaxDelay ({TransientMaxDelay}) must not be below TransientInitialDelay ({TransientInitialDelay})");
        if (MaxTransientRetries < 0) errors.Add($"{name}.MaxTransientRetries must not be negative (was {MaxTransientRetries})");
        if (MaxCorruptRetries < 0) errors.Add($"{name}.MaxCorruptRetries must not be negative (was {MaxCorruptRetries})");
        if (MaxSize <= 0) errors.Add($"{name}.MaxSize must be positive (was {MaxSize})");
        if (InMemoryThreshold < 0 || InMemoryThreshold > 16 << 20)
            errors.Add($"{name}.InMemoryThreshold must be 0..16 MiB (was {InMemoryThreshold})");
        if (MaxRedirects is < 0 or > 20) errors.Add($"{name}.MaxRedirects must be 0..20 (was {MaxRedirects})");
        return errors;
    }

    /// <summary>True when <paramref name="host"/> is on <see cref="AllowedHosts"/> (case-insensitive; <c>*.suffix</c> matches subdomains, <c>*</c> any host).</summary>
    public bool AllowsHost(string host)
    {
        foreach (var allowed in AllowedHosts)
        {
            if (allowed == "*") return true;
            if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                if (host.EndsWith(allowed.AsSpan(1), StringComparison.OrdinalIgnoreCase) && host.Length > allowed.Length - 1)
                    return true;
            }
            else if (string.Equals(allowed, host, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>All fetch configuration: defaults, per-dataset options, per-host limits, the cache directory.</summary>
public sealed record FetchSettings
{
    /// <summary>Where verified files live (<c>sha256/ab/cd/&lt;hash&gt;</c>) and partial downloads wait (<c>tmp/</c>).</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>Options for a dataset that <see cref="Datasets"/> does not name; null = such a dataset is refused.</summary>
    public FetchOptions? Defaults { get; init; }

    public IReadOnlyDictionary<string, FetchOptions> Datasets { get; init; } = new Dictionary<string, FetchOptions>();

    /// <summary>Limits per host name; they override the dataset's <see cref="FetchOptions.Limits"/> for that host.</summary>
    public IReadOnlyDictionary<string, HostLimits> Hosts { get; init; } = new Dictionary<string, HostLimits>(StringComparer.OrdinalIgnoreCase);

    /// <summary>TCP connect timeout of the shared handler.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Files in flight per lane in the stream (waiting for a host slot counts); real concurrency is the hosts' MaxConnections.</summary>
    public int LaneParallelism { get; init; } = 256;

    /// <summary>
    /// fsync a verified file before renaming it into the cache, so that after a power loss the cache holds no file
    /// whose content does not match its name. Off trades that guarantee for speed (the rename is still atomic).
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>Refuse connections to link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata) even for an allowed name.</summary>
    public bool BlockLinkLocal { get; init; } = true;

    public FetchOptions? For(string dataset) => Datasets.TryGetValue(dataset, out var o) ? o : Defaults;

    /// <summary>The limits the fetcher applies to <paramref name="host"/> for <paramref name="dataset"/>: the host's own, else the dataset's.</summary>
    public HostLimits LimitsFor(string host, string dataset) =>
        Hosts.TryGetValue(host, out var l) ? l : For(dataset)?.Limits ?? new HostLimits();

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(CacheDirectory)) errors.Add("Fetch.CacheDirectory must be set");
        if (ConnectTimeout <= TimeSpan.Zero) errors.Add($"Fetch.ConnectTimeout must be positive (was {ConnectTimeout})");
        if (LaneParallelism is < 1 or > 10_000) errors.Add($"Fetch.LaneParallelism must be 1..10000 (was {LaneParallelism})");
        if (Defaults is not null) errors.AddRange(Defaults.Validate("Fetch.Defaults"));
        foreach (var (name, o) in Datasets) errors.AddRange(o.Validate($"Fetch.Datasets[{name}]"));
        foreach (var (host, l) in Hosts) errors.AddRange(l.Validate($"Fetch.Hosts[{host}]"));
        if (Defaults is null && Datasets.Count == 0) errors.Add("Fetch: neither Defaults nor any Datasets entry is configured");
        return errors;
    }

    /// <summary>Throws <see cref="FetchOptionsException"/> listing every bad setting.</summary>
    public FetchSettings EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new FetchOptionsException(errors);
        return this;
    }
}

/// <summary>Invalid fetch configuration; the message names every bad setting.</summary>
public sealed class FetchOptionsException(IReadOnlyList<string> errors)
    : Exception("Invalid fetch settings: " + string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
