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
    public void Should_name_the_key_when_a_setting_is_invalid(string key, string value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => PipelineHost.Build([], overrides: new Dictionary<string, string?>
        {
            ["Pipeline:Node:Port"] = "0",
            [key] = value,
        }));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("short\"", error.Message);
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
