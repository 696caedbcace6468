using Pipeline.Host;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests;

public sealed class PipelineCommandSpecs
{
    [Fact]
    public async Task Should_print_the_version_when_asked_for_it()
    {
        var (exit, output, _) = await CommandRunner.RunAsync(PipelineCommand.Build(), "--version");
        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Fact]
    public async Task Should_describe_the_pipeline_when_asked_for_help()
    {
        var (exit, output, _) = await CommandRunner.RunAsync(PipelineCommand.Build(), "--help");
        Assert.Equal(0, exit);
        Assert.Contains("PipelineCluster", output);
    }

    [Fact]
    public async Task Should_fail_with_a_message_when_the_command_is_unknown()
    {
        var (exit, _, error) = await CommandRunner.RunAsync(PipelineCommand.Build(), "no-such-command");
        Assert.NotEqual(0, exit);
        Assert.Contains("no-such-command", error);
    }
}
