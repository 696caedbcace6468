using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Host.Configuration;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests;

public sealed class ConfigurationSpecs
{
    [Theory]
    [InlineData("Pipeline:Node:Port", "70000", "Pipeline:Node:Port must be between 0 and 65535")]
    [InlineData("Pipeline:Node:SeedNodes:0", "http://nope", "Pipeline:Node:SeedNodes:0 must look like akka.tcp://")]
    [InlineData("Pipeline:Management:Urls", "ftp://x", "Pipeline:Management:Urls has 'ftp://x'")]
    [InlineData("Pipeline:Management:Token", "short", "Pipeline:Management:Token must be at least 16 characters")]
    [InlineData("Pipeline:Cluster:StableAfter", "00:00:00.5", "Pipeline:Cluster:StableAfter must be at least 00:00:01")]
    [InlineData("Pipeline:Cluster:DownRemovalMargin", "00:00:00", "Pipeline:Cluster:DownRemovalMargin must be at least 00:00:01")]
    [InlineData("Pipeline:Cluster:HeartbeatPause", "00:00:00.2", "Pipeline:Cluster:HeartbeatPause must be at least 00:00:01")]
    [InlineData("Pipeline:Cluster:ShardRetryInterval", "00:00:00.01", "Pipeline:Cluster:ShardRetryInterval must be between")]
    [InlineData("Pipeline:Cluster:RunWakeInterval", "00:30:00", "Pipeline:Cluster:RunWakeInterval must be between")]
    [InlineData("Pipeline:Ingest:CacheRetention", "00:00:00", "Pipeline:Ingest:CacheRetention must be at least 00:00:01")]
    [InlineData("Pipeline:Node:SplitBrainStableAfter", "00:00:09", "Pipeline:Cluster:StableAfter (00:00:05) and the deprecated Pipeline:Node:SplitBrainStableAfter (00:00:09) disagree")]
    public void Should_name_the_key_when_a_setting_is_invalid(string key, string value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => PipelineHost.Build([], overrides: new Dictionary<string, string?>
        {
            ["Pipeline:Node:Port"] = "0",
            ["Pipeline:Cluster:StableAfter"] = key == "Pipeline:Node:SplitBrainStableAfter" ? "00:00:05" : null,
            [key] = value,
        }));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("short\"", error.Message);
    }

    [Fact]
    public void Should_give_the_actor_system_the_failover_timings_when_the_cluster_section_sets_them()
    {
        var defaults = PipelineHost.FailoverHocon(new NodeSettings(), new ClusterFailoverSettings());
        var config = Akka.Configuration.ConfigurationFactory.ParseString(defaults);
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromSeconds(3), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(TimeSpan.FromMilliseconds(200), config.GetTimeSpan("akka.cluster.sharding.retry-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.GetTimeSpan("akka.cluster.leader-actions-interval"));

        // The margin follows stable-after unless set; the deprecated key still counts when the new one is absent.
        var old = Akka.Configuration.ConfigurationFactory.ParseString(PipelineHost.FailoverHocon(
            new NodeSettings { SplitBrainStableAfter = TimeSpan.FromSeconds(7) }, new ClusterFailoverSettings { HeartbeatPause = TimeSpan.FromSeconds(6) }));
        Assert.Equal(TimeSpan.FromSeconds(7), old.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(7), old.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromSeconds(6), old.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        var set = Akka.Configuration.ConfigurationFactory.ParseString(PipelineHost.FailoverHocon(new NodeSettings(),
            new ClusterFailoverSettings { StableAfter = TimeSpan.FromSeconds(10), DownRemovalMargin = TimeSpan.FromSeconds(12), ShardRetryInterval = TimeSpan.FromSeconds(2) }));
        Assert.Equal(TimeSpan.FromSeconds(10), set.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(12), set.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromSeconds(2), set.GetTimeSpan("akka.cluster.sharding.retry-interval"));
    }

    [Fact]
    public async Task Should_run_the_cluster_with_the_configured_failover_timings_when_a_node_starts()
    {
        await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
        {
            ["Pipeline:Cluster:StableAfter"] = "00:00:06",
            ["Pipeline:Cluster:HeartbeatPause"] = "00:00:04",
            ["Pipeline:Cluster:ShardRetryInterval"] = "00:00:00.750",
        });
        var system = node.App.Services.GetRequiredService<Akka.Actor.ActorSystem>();
        var cluster = Akka.Cluster.Cluster.Get(system);
        Assert.Equal(TimeSpan.FromSeconds(6), cluster.DowningProvider.DownRemovalMargin);
        Assert.Equal(TimeSpan.FromSeconds(6), system.Settings.Config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(4), system.Settings.Config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(TimeSpan.FromMilliseconds(750),
            Akka.Cluster.Sharding.ClusterShardingSettings.Create(system).TuningParameters.RetryInterval);
    }

    [Fact]
    public void Should_name_the_key_when_a_value_has_the_wrong_type()
    {
        var error = Assert.ThrowsAny<InvalidOperationException>(() => PipelineHost.Build([], overrides: new Dictionary<string, string?>
        {
            ["Pipeline:Node:Port"] = "many",
        }));
        Assert.Contains("Pipeline:Node:Port", error.Message);
    }

    [Fact]
    public async Task Should_exit_with_a_message_naming_the_key_when_serve_gets_a_bad_config_file()
    {
        var file = Path.Combine(Path.GetTempPath(), $"pipeline-bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{ "Pipeline": { "Node": { "Port": -5 } } }""");
        try
        {
            var (exit, _, error) = await CommandRunner.RunAsync(PipelineCommand.Build(), "serve", "--config", file);
            Assert.Equal(2, exit);
            Assert.Contains("Pipeline:Node:Port must be between 0 and 65535 (got -5)", error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Should_say_the_file_is_missing_when_serve_gets_a_config_path_that_does_not_exist()
    {
        var (exit, _, error) = await CommandRunner.RunAsync(PipelineCommand.Build(), "serve", "--config", "/nonexistent/pipeline.json");
        Assert.Equal(2, exit);
        Assert.Contains("/nonexistent/pipeline.json", error);
    }
}
