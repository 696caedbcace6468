using System.Text.Json;
using Pipeline.Cli;
using Pipeline.Host;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Cli.Tests;

/// <summary>pipelinectl's cluster commands against a running node over real HTTP.</summary>
public sealed class ClusterCommandsSpecs
{
    private static Task<TestNode> StartAsync() => TestNode.StartAsync(settings => PipelineHost.Build([], overrides: settings));

    [Fact]
    public async Task Should_show_the_member_table_when_the_node_is_up()
    {
        await using var node = await StartAsync();
        var (exit, output, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "cluster", "show", "--url", node.Address.ToString());
        Assert.True(exit == 0, error);
        Assert.Contains("akka.tcp://pipeline-test@127.0.0.1:", output);
        Assert.Contains("Up", output);
        Assert.Contains("leader", output);
    }

    [Fact]
    public async Task Should_print_the_api_json_when_asked_for_json()
    {
        await using var node = await StartAsync();
        var (exit, output, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "cluster", "show", "--json", "--url", node.Address.ToString());
        Assert.True(exit == 0, error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal("Up", json.GetProperty("members")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Should_fail_with_the_reason_when_leave_has_no_token()
    {
        await using var node = await StartAsync();
        var (exit, _, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "cluster", "leave", "pipeline-test@127.0.0.1:1", "--url", node.Address.ToString());
        Assert.Equal(1, exit);
        Assert.Contains("401", error);
        Assert.Contains("Authorization", error);
    }

    [Fact]
    public async Task Should_say_not_found_when_the_shard_region_is_unknown()
    {
        await using var node = await StartAsync();
        var (exit, _, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "shards", "nope", "--url", node.Address.ToString());
        Assert.Equal(1, exit);
        Assert.Contains("404", error);
        Assert.Contains("nope", error);
    }

    [Fact]
    public async Task Should_say_the_node_cannot_be_reached_when_nothing_listens()
    {
        var (exit, _, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "cluster", "show", "--url", "http://127.0.0.1:1");
        Assert.Equal(3, exit);
        Assert.Contains("cannot reach the node at http://127.0.0.1:1", error);
    }

    [Fact]
    public async Task Should_reject_a_url_that_is_not_http()
    {
        var (exit, _, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "cluster", "show", "--url", "ftp://x");
        Assert.Equal(2, exit);
        Assert.Contains("ftp://x", error);
    }
}
