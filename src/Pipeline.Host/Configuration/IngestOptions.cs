using Pipeline.Actors.Contracts;

namespace Pipeline.Host.Configuration;

/// <summary><c>Pipeline:Ingest</c>: this node's processing graph (fetch, decode, write, notify, finalize).</summary>
public sealed class IngestOptions
{
    /// <summary>Run the processing graph and the configured sources on this node.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The node's working directory; the defaults below live under it.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The content-addressed download cache (default <c>{DataDirectory}/cache</c>).</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>The store for datasets whose <c>Outputs.Store</c> is empty: a directory, <c>file://</c> or <c>s3://bucket/prefix</c> (default <c>{DataDirectory}/store</c>).</summary>
    public string? DefaultStore { get; set; }

    /// <summary>Where rejected messages and unpublished notifications are parked, as JSON lines (default <c>{DataDirectory}/deadletters.jsonl</c>).</summary>
    public string? DeadLetterFile { get; set; }

    public int FetchParallelism { get; set; } = 32;

    /// <summary>Files decoded and written at once (default: the number of cores).</summary>
    public int DecodeParallelism { get; set; } = Math.Max(1, Environment.ProcessorCount);

    public int FinalizeParallelism { get; set; } = 1;

    /// <summary>Per-host politeness, by host name: <c>Pipeline:Ingest:Hosts:dd.weather.gc.ca:RequestsPerSecond</c>.</summary>
    public Dictionary<string, HostLimitOptions> Hosts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Hosts files may be fetched from; empty allows any public host.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Refuse link-local and metadata addresses (169.254.0.0/16). Loopback is always allowed.</summary>
    public bool BlockLinkLocal { get; set; } = true;

    /// <summary>
    /// How long a downloaded file stays in the cache once no run still needs it: files of runs not finalized yet are
    /// kept whatever their age; the rest are deleted this long after they were downloaded (or last downloaded again).
    /// </summary>
    public TimeSpan CacheRetention { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The longest a downloaded file is kept for a run not finalized yet (counted from its download): a run finalized
    /// on another node, or one that never completes, then lets its files go; finalization fetches any it still needs.
    /// </summary>
    public TimeSpan CacheHoldLimit { get; set; } = TimeSpan.FromDays(1);

    public string Cache => CacheDirectory ?? Path.Combine(DataDirectory, "cache");

    public string Store => DefaultStore ?? Path.Combine(DataDirectory, "store");

    public string DeadLetters => DeadLetterFile ?? Path.Combine(DataDirectory, "deadletters.jsonl");
}

public sealed class HostLimitOptions
{
    public double RequestsPerSecond { get; set; } = 20;
    public int MaxConnections { get; set; } = 8;
    public long? BandwidthBytesPerSecond { get; set; }
    public int Burst { get; set; } = 8;
}

/// <summary><c>Pipeline:Wis2</c>: the MQTT broker WIS2 notifications of our products are published to.</summary>
public sealed class Wis2Options
{
    /// <summary><c>mqtt://host:port</c> or <c>mqtts://host:port</c>; empty: no notifications (datasets may not set a WnmTopic).</summary>
    public string? Broker { get; set; }

    public string ClientId { get; set; } = "pipeline-" + Environment.MachineName.ToLowerInvariant();

    public string? Username { get; set; }

    /// <summary>The environment variable holding the broker password (never the password itself).</summary>
    public string? PasswordVariable { get; set; }
}

/// <summary>
/// <c>Pipeline:Sources:N</c>: one place announcements come from. <see cref="Type"/> is <c>amqp</c> (Sarracenia
/// brokers such as the MSC Datamart), <c>mqtt</c> (WIS2 brokers), <c>sqs</c> (S3 event notifications) or
/// <c>poll</c> (an HTTP directory tree or an S3 prefix listed every <see cref="Interval"/>).
/// </summary>
public sealed class SourceOptions
{
    public string Name { get; set; } = "";

    public string Type { get; set; } = "amqp";

    /// <summary>The broker: <c>amqps://anonymous:anonymous@dd.weather.gc.ca</c>, <c>mqtts://host:8883</c>, or the SQS queue URL.</summary>
    public string Uri { get; set; } = "";

    /// <summary>The message format: <c>auto</c>, <c>sarracenia-v03</c>, <c>sarracenia-v02</c>, <c>wis2-wnm</c>, <c>s3-event</c>.</summary>
    public string Format { get; set; } = "auto";

    /// <summary>AMQP: the exchange to bind (<c>xpublic</c>).</summary>
    public string Exchange { get; set; } = "xpublic";

    /// <summary>AMQP: the durable queue name (Sarracenia style <c>q_anonymous.pipeline.NAME</c>); default derived from the name.</summary>
    public string? Queue { get; set; }

    /// <summary>AMQP binding keys (<c>v02.post.*.WXO-DD.model_gem_global.#</c>) or MQTT topic filters (<c>origin/a/wis2/+/data/core/#</c>).</summary>
    public List<string> Topics { get; set; } = [];

    /// <summary>Unacknowledged messages at once (AMQP prefetch, MQTT buffer, SQS batch).</summary>
    public int Prefetch { get; set; } = 500;

    /// <summary>Sarracenia-style filters on the relPath, tried in order: <c>accept REGEX</c> or <c>reject REGEX</c>.</summary>
    public List<string> Filters { get; set; } = [];

    /// <summary>What happens to a relPath no filter matches.</summary>
    public bool AcceptUnmatched { get; set; } = true;

    /// <summary>Poll: time between the starts of two listings.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Poll (HTTP): subdirectory levels to descend (0: the root's files only).</summary>
    public int Depth { get; set; }

    /// <summary>Poll: how long a file no longer listed is remembered.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(2);

    /// <summary>Poll: files listed with an older modification time are not announced (sr3 <c>fileAgeMax</c>).</summary>
    public TimeSpan? MaxFileAge { get; set; }

    /// <summary>Poll: the seen-set file (default <c>{DataDirectory}/poll/{Name}.seen.jsonl</c>).</summary>
    public string? SeenFile { get; set; }

    /// <summary>SQS: visibility timeout while a message is being admitted.</summary>
    public TimeSpan Visibility { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<string> Errors(string prefix)
    {
        if (string.IsNullOrWhiteSpace(Name) || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            yield return $"{prefix}:Name must be letters, digits, '-', '_' or '.' (got '{Name}')";
        if (Type is not ("amqp" or "mqtt" or "sqs" or "poll"))
            yield return $"{prefix}:Type must be amqp, mqtt, sqs or poll (got '{Type}')";
        var schemes = Type switch
        {
            "amqp" => new[] { "amqp", "amqps" },
            "mqtt" => ["mqtt", "mqtts"],
            "poll" => ["http", "https", "s3"],
            _ => ["https", "http"],
        };
        if (Type == "poll")
        {
            if (Interval < TimeSpan.FromSeconds(1)) yield return $"{prefix}:Interval must be at least 00:00:01 (got {Interval})";
            if (Depth is < 0 or > 32) yield return $"{prefix}:Depth must be 0..32 (got {Depth})";
            if (Retention <= TimeSpan.Zero) yield return $"{prefix}:Retention must be positive (got {Retention})";
            if (MaxFileAge is { } age && age > Retention) yield return $"{prefix}:MaxFileAge ({age}) must not exceed Retention ({Retention}), or forgotten files come back";
        }
        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || !schemes.Contains(uri.Scheme))
            yield return $"{prefix}:Uri must be a {string.Join(" or ", schemes)} URL (got '{Redacted(Uri)}')";
        if (Format is not ("auto" or AnnouncementFormats.SarraceniaV03 or AnnouncementFormats.SarraceniaV02 or AnnouncementFormats.Wis2 or AnnouncementFormats.S3Event))
            yield return $"{prefix}:Format must be auto, sarracenia-v03, sarracenia-v02, wis2-wnm or s3-event (got '{Format}')";
        if (Type is "amqp" or "mqtt" && Topics.Count == 0)
            yield return $"{prefix}:Topics must name at least one binding key or topic filter";
        if (Prefetch is < 1 or > 65535)
            yield return $"{prefix}:Prefetch must be 1..65535 (got {Prefetch})";
        for (var i = 0; i < Filters.Count; i++)
        {
            var f = Filters[i].Trim();
            var space = f.IndexOf(' ');
            var verb = space < 0 ? f : f[..space];
            if (verb is not ("accept" or "reject") || space < 0)
            {
                yield return $"{prefix}:Filters:{i} must be 'accept REGEX' or 'reject REGEX' (got '{f}')";
                continue;
            }
            string? error = null;
            try
            {
                _ = new System.Text.RegularExpressions.Regex(f[(space + 1)..].Trim());
            }
            catch (ArgumentException e)
            {
                error = e.Message;
            }
            if (error is not null) yield return $"{prefix}:Filters:{i} is not a valid regular expression: {error}";
        }
    }

    /// <summary>A URI with any password replaced, for messages.</summary>
    public static string Redacted(string uri) =>
        System.Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.UserInfo.Contains(':')
            ? uri.Replace(u.UserInfo, u.UserInfo[..u.UserInfo.IndexOf(':')] + ":***", StringComparison.Ordinal)
            : uri;
}
