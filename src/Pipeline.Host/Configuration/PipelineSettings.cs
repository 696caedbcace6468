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

    /// <summary><c>Pipeline:Cluster</c>: how quickly a dead member's shards start again on the survivors.</summary>
    public ClusterFailoverSettings Cluster { get; set; } = new();

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

    /// <summary>Deprecated name of <c>Pipeline:Cluster:StableAfter</c>, still read when that one is not set.</summary>
    public TimeSpan? SplitBrainStableAfter { get; set; }
}

/// <summary>
/// <c>Pipeline:Cluster</c>: the failover timings. After a member dies its shards (and the sharding coordinators, if it
/// was the oldest) start again on the survivors after: failure detection (~<see cref="HeartbeatPause"/> + 1-2 s), the
/// split brain resolver's <see cref="StableAfter"/>, one gossip round to remove the member, and
/// <see cref="DownRemovalMargin"/>. The defaults follow the Akka.NET/Akka guidance for a cluster of up to 3 nodes
/// (stable-after = log10(nodes) x 10 s, rounded up; the down-removal margin equal to it); raise both for larger
/// clusters (5 nodes: 7 s, 10: 10 s, 20: 13 s). Every node of a cluster needs the same values.
/// </summary>
public sealed class ClusterFailoverSettings
{
    /// <summary>The split brain resolver's stable-after when none is configured (3 nodes: log10(3) x 10 s = 4.8 s).</summary>
    public static readonly TimeSpan DefaultStableAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>akka.cluster.split-brain-resolver.stable-after</c> (keep-majority): how long membership and reachability
    /// must be unchanged before the resolver downs the unreachable side. Default 5 s.
    /// </summary>
    public TimeSpan? StableAfter { get; set; }

    /// <summary>
    /// <c>akka.cluster.down-removal-margin</c>: after a member is removed, how long before its shards and singletons
    /// start elsewhere, so the persistent entities of a partitioned-away side have stopped first (that side downs
    /// itself after its own stable-after). Default: equal to <see cref="StableAfter"/>, as both Akka's and Akka.NET's
    /// documentation recommend; shorter is not safe against partitions.
    /// </summary>
    public TimeSpan? DownRemovalMargin { get; set; }

    /// <summary>
    /// <c>akka.cluster.failure-detector.acceptable-heartbeat-pause</c>: heartbeats missed for about this long (plus the
    /// 1 s heartbeat interval) mark a member unreachable. Default 3 s, Akka.NET's default; raise it where pauses
    /// (GC, overloaded hosts, cloud networks) are longer.
    /// </summary>
    public TimeSpan HeartbeatPause { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// <c>akka.cluster.sharding.retry-interval</c>: how often a shard region asks the coordinator again where a
    /// shard lives while it holds messages for it (and retries registering with a new coordinator). Asking is cheap
    /// (one small message per held shard per tick, only while a home is unknown) and the coordinator ignores the asks
    /// during the removal margin; the default 0.2 s (Akka's is 2 s) lets a re-homed shard start within 0.2 s of the
    /// margin's end, and regions register with a coordinator that moved within 0.2 s of it becoming active.
    /// </summary>
    public TimeSpan ShardRetryInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How often a data stream wakes the runs that may still have work until each answers settled (the wake is
    /// what restarts a run whose node died: runs are not remembered entities). Default 1 s.
    /// </summary>
    public TimeSpan RunWakeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The stable-after in force: this section's, else the deprecated <c>Pipeline:Node:SplitBrainStableAfter</c>, else 5 s.</summary>
    public TimeSpan EffectiveStableAfter(NodeSettings node) => StableAfter ?? node.SplitBrainStableAfter ?? DefaultStableAfter;

    /// <summary>The down-removal margin in force: this section's, else the stable-after in force.</summary>
    public TimeSpan EffectiveDownRemovalMargin(NodeSettings node) => DownRemovalMargin ?? EffectiveStableAfter(node);
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
