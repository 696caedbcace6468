using System.Text.Json;
using Pipeline.Cli;
using Pipeline.Host;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Cli.Tests;

/// <summary>pipelinectl's dataset, run and announcement commands against a running node over real HTTP.</summary>
public sealed class DomainCommandsSpecs
{
    private const string Dataset = "test.gdps";

    private static Task<TestNode> StartAsync() => TestNode.StartAsync(settings => PipelineHost.Build([], overrides: settings), new Dictionary<string, string?>
    {
        ["Pipeline:Datasets:0:Id"] = Dataset,
        ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/(?<var>[A-Z]+)_(?<step>\d{3})\.grib2$",
        ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "2",
        ["Pipeline:Datasets:0:Outputs:Store"] = "file:///tmp/pipeline-test-store",
    });

    /// <summary>pipelinectl with PIPELINE_URL pointing at the node and, optionally, PIPELINE_TOKEN.</summary>
    private static Task<(int ExitCode, string Output, string Error)> Ctl(TestNode node, string? token, params string[] args) =>
        CommandRunner.RunAsync(CtlCommand.Build(name => name switch
        {
            ManagementClient.UrlVariable => node.Address.ToString(),
            ManagementClient.TokenVariable => token,
            _ => null,
        }), args);

    [Fact]
    public async Task Should_announce_then_show_datasets_runs_and_the_run_when_asked()
    {
        await using var node = await StartAsync();

        var (exit, output, error) = await Ctl(node, TestNode.Token, "announce", "http://127.0.0.1:1/20261101/00/TMP_000.grib2");
        Assert.True(exit == 0, error);
        Assert.Contains("Admitted", output);

        (exit, output, error) = await Ctl(node, null, "datasets");
        Assert.True(exit == 0, error);
        Assert.Contains(Dataset, output);
        Assert.Contains("running", output);

        (exit, output, error) = await Ctl(node, null, "runs", "--dataset", Dataset, "--json");
        Assert.True(exit == 0, error);
        var run = Assert.Single(JsonDocument.Parse(output).RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal(Dataset + "/2026-11-01T00Z", run.GetProperty("id").GetString());

        (exit, output, error) = await Ctl(node, null, "run", "show", Dataset + "/2026-11-01T00Z");
        Assert.True(exit == 0, error);
        Assert.Contains("20261101/00/TMP_000.grib2", output);

        (exit, output, error) = await Ctl(node, TestNode.Token, "run", "refresh", Dataset + "/2026-11-01T00Z", "--reason", "test");
        Assert.True(exit == 0, error);
        Assert.Contains("refresh accepted: generation 1, 1 file(s)", output);

        // The window refresh takes every run in it; the journaled announcements come back as received.
        Assert.Equal(0, (await Ctl(node, TestNode.Token, "announce", "http://127.0.0.1:1/20261101/00/TMP_003.grib2")).ExitCode);
        (exit, output, error) = await Ctl(node, TestNode.Token, "dataset", "refresh", Dataset, "--from", "2026-11-01T00:00Z", "--to", "2026-11-01T06:00Z");
        Assert.True(exit == 0, error);
        Assert.Contains("refresh accepted: 1 run(s)", output);
        Assert.Contains(Dataset + "/2026-11-01T00Z", output);
        (exit, _, error) = await Ctl(node, TestNode.Token, "dataset", "refresh", Dataset, "--from", "2026-11-02T00:00Z", "--to", "2026-11-01T00:00Z");
        Assert.Equal(1, exit);
        Assert.Contains("after", error);

        (exit, output, error) = await Ctl(node, null, "run", "announcements", Dataset + "/2026-11-01T00Z", "--raw");
        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("http://127.0.0.1:1/20261101/00/TMP_003.grib2", JsonDocument.Parse(lines[1]).RootElement.GetProperty("url").GetString());
        (exit, output, error) = await Ctl(node, null, "run", "announcements", Dataset + "/2026-11-01T00Z");
        Assert.True(exit == 0, error);
        Assert.Contains("20261101/00/TMP_003.grib2", output);

        (exit, output, error) = await Ctl(node, null, "watch", "--count", "1");
        Assert.True(exit == 0, error);
        Assert.Contains(Dataset + "/2026-11-01T00Z", output);
    }

    [Fact]
    public async Task Should_pause_and_resume_a_dataset_with_the_token_and_refuse_without_it()
    {
        await using var node = await StartAsync();

        var (exit, _, error) = await Ctl(node, null, "dataset", "pause", Dataset);
        Assert.Equal(1, exit);
        Assert.Contains("401", error);

        (exit, var output, error) = await Ctl(node, TestNode.Token, "dataset", "pause", Dataset);
        Assert.True(exit == 0, error);
        Assert.Contains("paused", output);

        (exit, output, error) = await Ctl(node, TestNode.Token, "dataset", "resume", Dataset);
        Assert.True(exit == 0, error);
        Assert.Contains("running", output);

        (exit, output, error) = await Ctl(node, null, "dataset", "show", Dataset, "--json");
        Assert.True(exit == 0, error);
        Assert.False(JsonDocument.Parse(output).RootElement.GetProperty("status").GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task Should_name_the_unknown_thing_when_a_dataset_or_run_does_not_exist()
    {
        await using var node = await StartAsync();

        var (exit, _, error) = await Ctl(node, null, "dataset", "show", "nope");
        Assert.Equal(1, exit);
        Assert.Contains("no dataset 'nope'", error);

        (exit, _, error) = await Ctl(node, null, "run", "show", Dataset + "/2030-01-01T00Z");
        Assert.True(exit == 1 && error.Contains("404", StringComparison.Ordinal), error);

        (exit, _, error) = await Ctl(node, TestNode.Token, "announce", "http://127.0.0.1:1/not/matching.bin");
        Assert.Equal(1, exit);
        Assert.Contains("not/matching.bin", error);
    }

    [Fact]
    public async Task Should_list_and_replay_parked_messages_when_asked()
    {
        await using var node = await StartAsync();
        var injector = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Pipeline.Streams.Ingest.AnnouncementInjector>(node.App.Services);
        Assert.True(await injector.InjectAsync(new Pipeline.Streams.Announcements.InboundMessage("feed", "v03.x", "{ broken")));

        var (exit, output, error) = await Ctl(node, null, "deadletters", "list", "--source", "feed");
        Assert.True(exit == 0, error);
        Assert.Contains("1 parked", output);

        (exit, output, error) = await Ctl(node, null, "deadletters", "replay", "--source", "feed");
        Assert.NotEqual(0, exit);
        Assert.Contains("401", output + error);

        (exit, output, error) = await Ctl(node, TestNode.Token, "deadletters", "replay", "--source", "feed");
        Assert.True(exit == 0, error);
        Assert.Contains("selected 1, replayed 1", output);
    }
}
