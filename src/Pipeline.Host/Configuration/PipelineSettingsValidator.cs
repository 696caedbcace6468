using Microsoft.Extensions.Options;
using Pipeline.Actors.Catalog;

namespace Pipeline.Host.Configuration;

/// <summary>Validates <see cref="PipelineSettings"/> at start; every failure names its configuration key.</summary>
public sealed class PipelineSettingsValidator : IValidateOptions<PipelineSettings>
{
    /// <summary>The compiled catalog of <c>Pipeline:Datasets</c>; errors name keys like <c>Pipeline:Datasets:0:Id</c>.</summary>
    public static DatasetCatalog Catalog(PipelineSettings options) =>
        DatasetCatalog.Create(new DatasetCatalogOptions { Datasets = options.Datasets }, "Pipeline");

    public ValidateOptionsResult Validate(string? name, PipelineSettings options)
    {
        var errors = new List<string>();
        const string node = PipelineSettings.Section + ":Node:";
        const string management = PipelineSettings.Section + ":Management:";

        if (string.IsNullOrWhiteSpace(options.Node.SystemName) || !options.Node.SystemName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            errors.Add($"{node}SystemName must be letters, digits, '-' or '_' (got '{options.Node.SystemName}')");
        if (string.IsNullOrWhiteSpace(options.Node.Hostname))
            errors.Add($"{node}Hostname must be set");
        if (options.Node.Port is < 0 or > 65535)
            errors.Add($"{node}Port must be between 0 and 65535 (got {options.Node.Port})");
        if (options.Node.Port == 0 && options.Node.SeedNodes.Count > 0)
            errors.Add($"{node}Port must be fixed (not 0) when {node}SeedNodes are given");
        for (var i = 0; i < options.Node.SeedNodes.Count; i++)
        {
            var seed = options.Node.SeedNodes[i];
            if (!Uri.TryCreate(seed, UriKind.Absolute, out var uri) || uri.Scheme != "akka.tcp" || uri.Port <= 0 || string.IsNullOrEmpty(uri.UserInfo))
                errors.Add($"{node}SeedNodes:{i} must look like akka.tcp://{options.Node.SystemName}@host:port (got '{seed}')");
            else if (uri.UserInfo != options.Node.SystemName)
                errors.Add($"{node}SeedNodes:{i} names actor system '{uri.UserInfo}' but {node}SystemName is '{options.Node.SystemName}'");
        }
        if (options.Node.SplitBrainStableAfter < TimeSpan.FromSeconds(1))
            errors.Add($"{node}SplitBrainStableAfter must be at least 00:00:01 (got {options.Node.SplitBrainStableAfter})");
        errors.AddRange(ClusterErrors(options));

        var urls = options.Management.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0)
            errors.Add($"{management}Urls must name at least one URL");
        foreach (var url in urls)
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                errors.Add($"{management}Urls has '{url}', which is not an http(s) URL");
        if (options.Management.Token is { Length: > 0 and < 16 })
            errors.Add($"{management}Token must be at least 16 characters (it is {options.Management.Token.Length}); the value is not shown");
        if (options.Management.ReadsRequireToken && string.IsNullOrEmpty(options.Management.Token))
            errors.Add($"{management}ReadsRequireToken is true but {management}Token is not set");
        if (options.Management.AskTimeout <= TimeSpan.Zero)
            errors.Add($"{management}AskTimeout must be positive (got {options.Management.AskTimeout})");

        errors.AddRange(options.Persistence.Errors(PipelineSettings.Section + ":Persistence"));
        errors.AddRange(IngestErrors(options));
        if (options.WorkQueueCapacity is < 1 or > 1_000_000)
            errors.Add($"{PipelineSettings.Section}:WorkQueueCapacity must be between 1 and 1000000 (got {options.WorkQueueCapacity})");
        try
        {
            Catalog(options);
        }
        catch (DatasetCatalogException e)
        {
            errors.AddRange(e.Errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static IEnumerable<string> ClusterErrors(PipelineSettings options)
    {
        const string cluster = PipelineSettings.Section + ":Cluster:";
        var c = options.Cluster;
        if (c.StableAfter < TimeSpan.FromSeconds(1))
            yield return $"{cluster}StableAfter must be at least 00:00:01 (got {c.StableAfter})";
        if (c.StableAfter is { } s && options.Node.SplitBrainStableAfter is { } old && s != old)
            yield return $"{cluster}StableAfter ({s}) and the deprecated {PipelineSettings.Section}:Node:SplitBrainStableAfter ({old}) disagree; set only the first";
        if (c.DownRemovalMargin < TimeSpan.FromSeconds(1))
            yield return $"{cluster}DownRemovalMargin must be at least 00:00:01 (got {c.DownRemovalMargin})";
        if (c.HeartbeatPause < TimeSpan.FromSeconds(1))
            yield return $"{cluster}HeartbeatPause must be at least 00:00:01 (got {c.HeartbeatPause})";
        if (c.ShardRetryInterval < TimeSpan.FromMilliseconds(100) || c.ShardRetryInterval > TimeSpan.FromMinutes(1))
            yield return $"{cluster}ShardRetryInterval must be between 00:00:00.1 and 00:01:00 (got {c.ShardRetryInterval})";
        if (c.RunWakeInterval < TimeSpan.FromMilliseconds(100) || c.RunWakeInterval > TimeSpan.FromMinutes(10))
            yield return $"{cluster}RunWakeInterval must be between 00:00:00.1 and 00:10:00 (got {c.RunWakeInterval})";
    }

    private static IEnumerable<string> IngestErrors(PipelineSettings options)
    {
        const string ingest = PipelineSettings.Section + ":Ingest:";
        var i = options.Ingest;
        if (i.FetchParallelism is < 1 or > 4096) yield return $"{ingest}FetchParallelism must be 1..4096 (got {i.FetchParallelism})";
        if (i.CacheRetention < TimeSpan.FromSeconds(1)) yield return $"{ingest}CacheRetention must be at least 00:00:01 (got {i.CacheRetention})";
        if (i.CacheHoldLimit < TimeSpan.FromMinutes(1)) yield return $"{ingest}CacheHoldLimit must be at least 00:01:00 (got {i.CacheHoldLimit})";
        if (i.DecodeParallelism is < 1 or > 1024) yield return $"{ingest}DecodeParallelism must be 1..1024 (got {i.DecodeParallelism})";
        if (i.FinalizeParallelism is < 1 or > 64) yield return $"{ingest}FinalizeParallelism must be 1..64 (got {i.FinalizeParallelism})";
        if (string.IsNullOrWhiteSpace(i.DataDirectory)) yield return $"{ingest}DataDirectory must be set";
        foreach (var (host, limits) in i.Hosts)
        {
            if (!(limits.RequestsPerSecond > 0)) yield return $"{ingest}Hosts:{host}:RequestsPerSecond must be positive";
            if (limits.MaxConnections < 1) yield return $"{ingest}Hosts:{host}:MaxConnections must be at least 1";
        }

        const string wis2 = PipelineSettings.Section + ":Wis2:";
        var broker = options.Wis2.Broker;
        if (!string.IsNullOrWhiteSpace(broker) && (!Uri.TryCreate(broker, UriKind.Absolute, out var b) || b.Scheme is not ("mqtt" or "mqtts") || b.Port <= 0 && b.IsDefaultPort && b.Host.Length == 0))
            yield return $"{wis2}Broker must be mqtt://host:port or mqtts://host:port (got '{SourceOptions.Redacted(broker)}')";
        for (var d = 0; d < options.Datasets.Count; d++)
        {
            var topic = options.Datasets[d].Outputs.WnmTopic;
            if (string.IsNullOrWhiteSpace(topic)) continue;
            if (string.IsNullOrWhiteSpace(broker))
                yield return $"{PipelineSettings.Section}:Datasets:{d}:Outputs:WnmTopic is set but {wis2}Broker is not";
            else if (Pipeline.Streams.Wis2.Wis2Topic.TryParse(topic) is not { } t)
                yield return $"{PipelineSettings.Section}:Datasets:{d}:Outputs:WnmTopic '{topic}' is not a WIS2 topic (origin/a/wis2/CENTRE/data/core/weather/prediction/forecast/RANGE/KIND)";
            else
                foreach (var p in t.Problems()) yield return $"{PipelineSettings.Section}:Datasets:{d}:Outputs:WnmTopic: {p}";
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < options.Sources.Count; s++)
        {
            var prefix = $"{PipelineSettings.Section}:Sources:{s}";
            foreach (var e in options.Sources[s].Errors(prefix)) yield return e;
            if (!names.Add(options.Sources[s].Name)) yield return $"{prefix}:Name '{options.Sources[s].Name}' is used by another source";
        }
    }
}
