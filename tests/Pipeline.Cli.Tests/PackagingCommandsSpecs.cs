using System.Text.Json;
using Pipeline.Cli;
using Pipeline.Host;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Cli.Tests;

/// <summary>pipelinectl's boundaries and jobs commands against a running node over real HTTP.</summary>
public sealed class PackagingCommandsSpecs
{
    private const string Dataset = "test.pkg";

    private static Task<TestNode> StartAsync() => TestNode.StartAsync(settings => PipelineHost.Build([], overrides: settings), new Dictionary<string, string?>
    {
        ["Pipeline:Datasets:0:Id"] = Dataset,
        ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/(?<var>[A-Z]+)_(?<step>\d{3})\.grib2$",
        ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "2",
    });

    private static Task<(int ExitCode, string Output, string Error)> Ctl(TestNode node, params string[] args) =>
        CommandRunner.RunAsync(CtlCommand.Build(name => name switch
        {
            ManagementClient.UrlVariable => node.Address.ToString(),
            ManagementClient.TokenVariable => TestNode.Token,
            _ => null,
        }), args);

    [Fact]
    public async Task Should_add_list_and_show_boundaries_and_refuse_a_job_with_the_nodes_reason()
    {
        await using var node = await StartAsync();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, """
                { "type": "FeatureCollection", "features": [ { "type": "Feature", "properties": { "NAME": "Nova Scotia" },
                  "geometry": { "type": "Polygon", "coordinates": [[[-66.5, 43.3], [-59.7, 45.9], [-61.5, 47.1], [-66.5, 43.3]]] } } ] }
                """);
            var (exit, output, error) = await Ctl(node, "boundaries", "add", file, "--name-property", "NAME");
            Assert.True(exit == 0, error);
            Assert.Contains("created: Nova Scotia", output);

            (exit, output, error) = await Ctl(node, "boundaries", "list", "--json");
            Assert.True(exit == 0, error);
            Assert.Equal("Nova Scotia", JsonDocument.Parse(output).RootElement.GetProperty("boundaries")[0].GetProperty("name").GetString());

            (exit, output, error) = await Ctl(node, "boundaries", "show", "Nova Scotia");
            Assert.True(exit == 0, error);
            Assert.Contains("\"Polygon\"", output);

            (exit, _, error) = await Ctl(node, "jobs", "submit", "--dataset", "unknown.one", "--boundary", "Nova Scotia");
            Assert.Equal(1, exit);
            Assert.Contains("400", error);
            Assert.Contains("unknown dataset 'unknown.one'", error);

            (exit, _, error) = await Ctl(node, "jobs", "submit", "--dataset", Dataset, "--boundary", "Nova Scotia");
            Assert.Equal(1, exit);
            Assert.Contains("has no finalized run", error);

            (exit, output, error) = await Ctl(node, "jobs", "list", "--json");
            Assert.True(exit == 0, error);
            Assert.Equal(0, JsonDocument.Parse(output).RootElement.GetProperty("jobs").GetArrayLength());

            (exit, _, error) = await Ctl(node, "jobs", "cancel", "pkg-00000000000000000000");
            Assert.Equal(1, exit);
            Assert.Contains("404", error);

            await File.WriteAllTextAsync(file, """{ "type": "Polygon", "coordinates": [[[0,0],[10,10],[10,0],[0,10],[0,0]]] }""");
            (exit, _, error) = await Ctl(node, "boundaries", "add", file, "--name", "Bowtie");
            Assert.Equal(1, exit);
            Assert.Contains("self-intersection", error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
