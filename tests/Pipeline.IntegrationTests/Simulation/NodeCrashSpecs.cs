using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.IntegrationTests.Simulation;

/// <summary>
/// A <c>pipeline serve</c> process killed with SIGKILL in the middle of a run (some files done, some announced but
/// not yet published): a new process on the same journal and store finishes the run, with every file's output
/// there exactly once and the run finalized once.
/// </summary>
public sealed class NodeCrashSpecs(ITestOutputHelper output)
{
    private const string Dataset = "sim.crash";
    private static readonly int[] Steps = [0, 3, 6, 9, 12, 15, 18, 21];

    [ServiceFact(Service.Python)]
    public async Task Should_finish_every_admitted_file_exactly_once_when_the_node_is_killed_mid_run_and_restarted()
    {
        await using var scene = await CrashScene.CreateAsync("crash", Dataset, Steps);
        try
        {
            var server = scene.Server;
            var late = Steps.Skip(5).Select(CrashScene.Rel).ToList();
            foreach (var l in late) server.Hold(l);

            var env = scene.Environment("pipeline-sim", new Dictionary<string, string>
            {
                ["Pipeline__Datasets__0__Fetch__RetryDelay"] = "00:00:01",
                ["Pipeline__Datasets__0__Fetch__MaxAttempts"] = "600",
                ["Pipeline__Datasets__0__Outputs__Store"] = Path.Combine(scene.Work, "store"),
            });
            var first = scene.StartNode(env);
            using (var http = await CrashScene.ReadyClientAsync(first))
            {
                foreach (var step in Steps) await scene.AnnounceAsync(http, step);
                await Eventually.HoldsAsync(() => scene.RunAsync(http), r => r?["indexed"]!.GetValue<int>() == Steps.Length - late.Count, TimeSpan.FromMinutes(3),
                    "the published files indexed before the crash");
                await Eventually.HoldsAsync(() => Task.FromResult(late.Min(server.Requests)), n => n >= 1, what: "every late file tried once");
            }

            await CrashScene.KillAsync(first);
            foreach (var l in late) server.Publish(l);

            var second = scene.StartNode(env);
            using (var http = ManagementHttp.Client(second.Management, TestNode.Token))
            {
                // Nothing is announced again: the recovered entities re-drive what they own.
                var run = await Eventually.HoldsAsync(() => scene.RunAsync(http), r => r?["finalizedGeneration"]?.GetValueKind() == JsonValueKind.Number,
                    TimeSpan.FromMinutes(4), "the run finalized by the second node");
                Assert.Equal(Steps.Length, run!["indexed"]!.GetValue<int>());
                Assert.Equal(run["generation"]!.GetValue<int>(), run["finalizedGeneration"]!.GetValue<int>());
            }

            var prefix = Path.Combine(scene.Work, "store", Dataset, "20261124T0600Z");
            // Each file's staging area (Outputs:FileZarr staging, the default) exactly once, with its consolidated metadata.
            var perFile = Directory.GetDirectories(Path.Combine(prefix, "staging")).Select(Path.GetFileName).Order().ToList();
            Assert.Equal(Steps.Select(s => $"model.t06z.f{s:000}.grib2"), perFile);
            Assert.All(perFile, n => Assert.True(File.Exists(Path.Combine(prefix, "staging", n!, ".zmetadata")), n));
            var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json")))!;
            Assert.Equal(Steps.Length, manifest["files"]!.AsArray().Select(f => f!["dataId"]!.GetValue<string>()).Distinct().Count());
            Assert.Equal(Steps.Length * 5, manifest["fields"]!.GetValue<int>());
            Assert.Empty(manifest["failed"]!.AsArray());
            // No temporary or partial object is left visible in the store.
            Assert.Empty(Directory.EnumerateFiles(prefix, "*.tmp", SearchOption.AllDirectories));
        }
        catch
        {
            output.WriteLine(scene.Logs());
            throw;
        }
    }
}
