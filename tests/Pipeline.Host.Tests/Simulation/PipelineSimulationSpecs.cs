using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Simulation;

/// <summary>
/// The whole pipeline on one real node (SQLite journal, local store, the fetch, decode, write, notify and finalize
/// graph) against data servers with fault schedules: a stalled host, corrupt files, duplicate and out-of-order
/// announcements. Each scenario asserts that every run completes, every output exists exactly once, and every
/// failure is recorded with its reason. (The node crash is <c>NodeCrashSpecs</c>, the broker restart
/// <c>BrokerRestartSimulationSpecs</c>.)
/// </summary>
public sealed class PipelineSimulationSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Dataset = "sim.model";
    private static readonly int[] Steps = [0, 3, 6, 9, 12, 15];
    private static readonly TimeSpan RunDeadline = TimeSpan.FromMinutes(4);

    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-sim-").FullName;
    private string Data => Path.Combine(_root, "data");
    private string Store => Path.Combine(_root, "store");

    public async Task InitializeAsync()
    {
        if (TestServices.SkipReason([Service.Python]) is not null) return;
        await RunFixtures.RunAsync(Path.Combine(Data, "m", "20261124", "00"), "20261124", 0, Steps);
        await RunFixtures.RunAsync(Path.Combine(Data, "m", "20261124", "06"), "20261124", 6, Steps);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }

    private Dictionary<string, string?> Settings(int expected, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Pipeline:Datasets:0:Id"] = Dataset,
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = expected.ToString(),
            ["Pipeline:Datasets:0:Fetch:RetryDelay"] = "00:00:01",
            ["Pipeline:Datasets:0:Fetch:MaxAttempts"] = "60",
            ["Pipeline:Datasets:0:Outputs:Store"] = Store,
        };
        foreach (var (k, v) in extra) settings[k] = v;
        return settings;
    }

    private static string Rel(int run, int step) => $"m/20261124/{run:00}/model.t{run:00}z.f{step:000}.grib2";

    private async Task Announce(TestNode node, Uri baseUrl, string relPath)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Data, relPath));
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();
        Assert.True(await injector.InjectAsync(new InboundMessage("sim-feed", "v03.sim", Feeds.V03(baseUrl, relPath, bytes))), $"{relPath} acked");
    }

    private static Task<JsonElement> Run(HttpClient http, int run) =>
        http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString($"{Dataset}/2026-11-24T{run:00}Z"));

    private static Task<JsonElement> Finalized(HttpClient http, int run) =>
        Eventually.HoldsAsync(() => Run(http, run), r => r.GetProperty("finalizedGeneration").ValueKind == JsonValueKind.Number, RunDeadline,
            $"run {run:00}Z finalized");

    /// <summary>Every per-file output of the run exactly once, and the manifest listing each file once.</summary>
    private async Task<JsonNode> AssertOutputsOnce(int run, IReadOnlyCollection<int> steps)
    {
        var prefix = Path.Combine(Store, Dataset, $"20261124T{run:00}00Z");
        // Each file's staging area (Outputs:FileZarr staging, the default), with its consolidated metadata.
        var perFile = Directory.GetDirectories(Path.Combine(prefix, "staging")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(steps.Order().Select(s => $"model.t{run:00}z.f{s:000}.grib2"), perFile);
        Assert.All(perFile, n => Assert.True(File.Exists(Path.Combine(prefix, "staging", n!, ".zmetadata")), n));
        var refs = Directory.GetFiles(Path.Combine(prefix, "refs"), "model.*.json").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(steps.Order().Select(s => $"model.t{run:00}z.f{s:000}.grib2.json"), refs);
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json")))!;
        var ids = manifest["files"]!.AsArray().Select(f => f!["dataId"]!.GetValue<string>()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(steps.Count, ids.Count);
        Assert.True(File.Exists(Path.Combine(prefix, "run.zarr", ".zmetadata")) || Directory.Exists(Path.Combine(prefix, "run.zarr")), "run store");
        return manifest;
    }

    [ServiceFact(Service.Python)]
    public async Task Should_finish_every_file_of_a_healthy_host_while_another_host_stalls_and_then_complete_both()
    {
        // Two data servers (two hosts to the fetcher). The first run's files sit on a host that accepts requests and
        // answers nothing; they are announced first and outnumber the fetch places, so without a fair share per host
        // they would take every place and the second run, on a healthy host, would wait behind them.
        await using var stalled = await LocalFileServer.StartAsync(Data);
        await using var healthy = await LocalFileServer.StartAsync(Data);
        foreach (var s in Steps) stalled.Stall(Rel(0, s));
        await using var node = await Nodes.StartAsync(Settings(Steps.Length, ("Pipeline:Ingest:FetchParallelism", "4")));
        using var http = node.Client();

        foreach (var s in Steps) await Announce(node, stalled.BaseUrl, Rel(0, s));
        foreach (var s in Steps) await Announce(node, healthy.BaseUrl, Rel(6, s));

        await Finalized(http, 6);
        var first = await Run(http, 0);
        Assert.Equal(0, first.GetProperty("indexed").GetInt32());
        Assert.InRange(stalled.StalledPeak, 1, 2); // the stalled host held at most half of the four fetch places

        foreach (var s in Steps) stalled.Release(Rel(0, s));
        await Finalized(http, 0);
        await AssertOutputsOnce(0, Steps);
        await AssertOutputsOnce(6, Steps);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_complete_the_run_with_each_corrupt_file_failed_for_good_and_its_reason_recorded()
    {
        // Three of the run's files are broken on the server: cut in the middle of a message, empty, and random bytes.
        var dir = Path.Combine(Data, "m", "20261124", "00");
        var whole = await File.ReadAllBytesAsync(Path.Combine(dir, "model.t00z.f009.grib2"));
        await File.WriteAllBytesAsync(Path.Combine(dir, "model.t00z.f009.grib2"), whole[..(whole.Length / 2)]);
        await File.WriteAllBytesAsync(Path.Combine(dir, "model.t00z.f012.grib2"), []);
        await File.WriteAllBytesAsync(Path.Combine(dir, "model.t00z.f015.grib2"), RandomNumberGenerator.GetBytes(5000));
        int[] broken = [9, 12, 15];
        await using var server = await LocalFileServer.StartAsync(Data);
        await using var node = await Nodes.StartAsync(Settings(Steps.Length));
        using var http = node.Client();

        foreach (var s in Steps) await Announce(node, server.BaseUrl, Rel(0, s));

        var run = await Finalized(http, 0);
        Assert.Equal(Steps.Length - broken.Length, run.GetProperty("indexed").GetInt32());
        Assert.Equal(broken.Length, run.GetProperty("failed").GetInt32());
        foreach (var file in run.GetProperty("files").EnumerateArray().Where(f => f.GetProperty("failureReason").ValueKind == JsonValueKind.String))
        {
            var reason = file.GetProperty("failureReason").GetString()!;
            output.WriteLine(reason);
            Assert.Contains("m/20261124/00/model.t00z.f0", reason); // names the file
        }

        var manifest = await AssertOutputsOnce(0, Steps.Except(broken).ToArray());
        var failed = manifest["failed"]!.AsArray();
        Assert.Equal(broken.Length, failed.Count);
        Assert.All(failed, f => Assert.False(string.IsNullOrWhiteSpace(f!.ToJsonString()), "a reason per failed file"));
        Assert.False(Directory.Exists(Path.Combine(Store, Dataset, "20261124T0000Z", "staging", "model.t00z.f009.grib2")), "nothing written for a cut file");
    }

    [ServiceFact(Service.Python)]
    public async Task Should_write_every_file_once_when_announcements_come_twice_out_of_order_and_interleaved_between_runs()
    {
        await using var server = await LocalFileServer.StartAsync(Data);
        await using var node = await Nodes.StartAsync(Settings(Steps.Length));
        using var http = node.Client();

        // Both runs interleaved, latest step first, each file announced twice (the second copy arriving later, as
        // redundant feeds do); the older run's last files come after the newer run has started.
        var order = Steps.Reverse().SelectMany(s => new[] { Rel(6, s), Rel(0, s) }).ToList();
        var shuffled = order.Concat(order.AsEnumerable().Reverse()).ToList();
        foreach (var rel in shuffled) await Announce(node, server.BaseUrl, rel);

        foreach (var run in new[] { 0, 6 })
        {
            var state = await Finalized(http, run);
            Assert.Equal(Steps.Length, state.GetProperty("indexed").GetInt32());
            Assert.Equal(0, state.GetProperty("failed").GetInt32());
            Assert.Equal(state.GetProperty("generation").GetInt32(), state.GetProperty("finalizedGeneration").GetInt32());
            await AssertOutputsOnce(run, Steps);
        }

        // Each file fetched once: the duplicates were recognised at admission, not after another download.
        Assert.All(order, rel => Assert.Equal(1, server.Requests(rel)));
        var stream = await http.GetFromJsonAsync<JsonElement>("/api/datasets/" + Dataset);
        output.WriteLine(stream.ToString());
        Assert.Equal(order.Count, stream.GetProperty("status").GetProperty("duplicates").GetInt64());
        Assert.Equal(order.Count, stream.GetProperty("status").GetProperty("admitted").GetInt64());
    }
}
