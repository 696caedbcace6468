using Pipeline.Actors.Catalog;
using Pipeline.Actors.Persistence;

namespace Pipeline.Host.Configuration;

/// <summary>
/// The one settings object of a node, bound from the <c>Pipeline</c> section of <c>appsettings.json</c>, the
/// <c>--config</c> file and environment variables (<c>Pipeline__Node__Port=4053</c>), in that order of precedence
/// from lowest to highest. Invalid values stop the node at start with a message naming the key.
/// </summary>
public sealed class PipelineSettings
{
    public const string Section = "Pipeline";

    public NodeSettings Node { get; set; } = new();

    public ManagementSettings Management { get; set; } = new();

    /// <summary><c>Pipeline:Persistence</c>: the journal and snapshot store (SQLite by default, PostgreSQL for a cluster).</summary>
    public PipelinePersistenceOptions Persistence { get; set; } = new();

    /// <summary><c>Pipeline:Datasets</c>: the configured data streams (see README).</summary>
    public List<DatasetOptions> Datasets { get; set; } = [];

    /// <summary><c>Pipeline:WorkQueueCapacity</c>: files admitted and waiting for this node's processing graph.</summary>
    public int WorkQueueCapacity { get; set; } = 1024;

    /// <summary><c>Pipeline:Ingest</c>: the processing graph (cache, default store, parallelism, host limits).</summary>
    public IngestOptions Ingest { get; set; } = new();

    /// <summary><c>Pipeline:Wis2</c>: the broker our WIS2 notifications go to.</summary>
    public Wis2Options Wis2 { get; set; } = new();

    /// <summary><c>Pipeline:Sources</c>: the brokers announcements come from.</summary>
    public List<SourceOptions> Sources { get; set; } = [];
}

/// <summary><c>Pipeline:Node</c>: this node's place in the cluster.</summary>
public sealed class NodeSettings
{
    /// <summary>Actor system name; every node of one cluster uses the same.</summary>
    public string SystemName { get; set; } = "pipeline";

    /// <summary>Address to bind Akka.Remote to.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Address other nodes use to reach this one (defaults to <see cref="Hostname"/>).</summary>
    public string? PublicHostname { get; set; }

    /// <summary>Akka.Remote TCP port; 0 picks a free one (single node only).</summary>
    public int Port { get; set; } = 4053;

    /// <summary>Seed node addresses (<c>akka.tcp://pipeline@host:4053</c>); empty means this node joins itself.</summary>
    public List<string> SeedNodes { get; set; } = [];

    public List<string> Roles { get; set; } = ["pipeline"];

    /// <summary>How long the split brain resolver (keep-majority) waits for a stable membership before downing.</summary>
    public TimeSpan SplitBrainStableAfter { get; set; } = TimeSpan.FromSeconds(7);
}

/// <summary><c>Pipeline:Management</c>: the management HTTP API.</summary>
public sealed class ManagementSettings
{
    /// <summary>Where the management API listens (<c>;</c>-separated URLs).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8558";

    /// <summary>Bearer token for mutating endpoints; without one, mutating endpoints answer 401.</summary>
    public string? Token { get; set; }

    /// <summary>Whether reading endpoints also need the token (health probes never do).</summary>
    public bool ReadsRequireToken { get; set; }

    /// <summary>Timeout of each Ask an endpoint makes to the actors.</summary>
    public TimeSpan AskTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
