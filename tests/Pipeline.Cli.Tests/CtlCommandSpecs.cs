using Pipeline.Cli;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Cli.Tests;

public sealed class CtlCommandSpecs
{
    [Fact]
    public async Task Should_print_the_version_when_asked_for_it()
    {
        var (exit, output, _) = await CommandRunner.RunAsync(CtlCommand.Build(), "--version");
        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Fact]
    public async Task Should_describe_itself_when_asked_for_help()
    {
        var (exit, output, _) = await CommandRunner.RunAsync(CtlCommand.Build(), "--help");
        Assert.Equal(0, exit);
        Assert.Contains("pipelinectl", output);
        Assert.Contains("management HTTP API", output);
    }

    [Fact]
    public async Task Should_fail_with_a_message_when_the_command_is_unknown()
    {
        var (exit, _, error) = await CommandRunner.RunAsync(CtlCommand.Build(), "no-such-command");
        Assert.NotEqual(0, exit);
        Assert.Contains("no-such-command", error);
    }
}
