using Xunit;

namespace Pipeline.Host.Tests;

/// <summary>The sample configurations in deploy/config are valid: a node builds from each (nothing is started).</summary>
public sealed class SampleConfigurationSpecs
{
    public static TheoryData<string> Files()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PipelineCluster.sln"))) dir = dir.Parent;
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(dir!.FullName, "deploy", "config"), "*.json").Order()) data.Add(f);
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Should_build_a_node_from_the_sample_configuration(string file)
    {
        var data = Directory.CreateTempSubdirectory("pipeline-sample-");
        try
        {
            await using var app = PipelineHost.Build([], file, new Dictionary<string, string?>
            {
                ["Pipeline:Persistence:DataDirectory"] = data.FullName,
                ["Pipeline:Ingest:DataDirectory"] = data.FullName,
            });
            Assert.NotNull(app.Services.GetService(typeof(Pipeline.Host.Ingest.IngestService)));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
