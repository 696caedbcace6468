using System.Net.Http.Json;
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
        var work = Directory.CreateTempSubdirectory("pipeline-crash-").FullName;
        var nodes = new List<NodeProcess>();
        try
        {
            var data = Path.Combine(work, "served");
            await RunFixtures.RunAsync(Path.Combine(data, "m", "20261124", "06"), "20261124", 6, Steps);
            await using var server = await LocalFileServer.StartAsync(data);
            var late = Steps.Skip(5).Select(s => Rel(s)).ToList();
            foreach (var l in late) server.Hold(l);

            var env = new Dictionary<string, string>
            {
                ["Pipeline__Node__SystemName"] = "pipeline-sim",
                ["Pipeline__Management__Token"] = TestNode.Token,
                ["Pipeline__Datasets__0__Id"] = Dataset,
                ["Pipeline__Datasets__0__PathPatterns__0"] = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
                ["Pipeline__Datasets__0__Completeness__ExpectedCount"] = Steps.Length.ToString(),
                ["Pipeline__Datasets__0__Fetch__RetryDelay"] = "00:00:01",
                ["Pipeline__Datasets__0__Fetch__MaxAttempts"] = "600",
                ["Pipeline__Datasets__0__Outputs__Store"] = Path.Combine(work, "store"),
            };
            var first = NodeProcess.Start(NodeProcess.FreePort(), env, work);
            nodes.Add(first);
            using (var http = ManagementHttp.Client(first.Management, TestNode.Token))
            {
                await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromMinutes(3), "first node ready");
                foreach (var step in Steps)
                {
                    var response = await http.PostAsJsonAsync("/api/announcements", new { url = server.Url(Rel(step)).AbsoluteUri });
                    Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                }
                await Eventually.HoldsAsync(() => Run(http), r => r?["indexed"]!.GetValue<int>() == Steps.Length - late.Count, TimeSpan.FromMinutes(3),
                    "the published files indexed before the crash");
                await Eventually.HoldsAsync(() => Task.FromResult(late.Min(server.Requests)), n => n >= 1, what: "every late file tried once");
            }

            first.Kill();
            await Eventually.HoldsAsync(() => Task.FromResult(first.HasExited), e => e, what: "the first node gone");
            foreach (var l in late) server.Publish(l);

            var second = NodeProcess.Start(NodeProcess.FreePort(), env, work);
            nodes.Add(second);
            using (var http = ManagementHttp.Client(second.Management, TestNode.Token))
            {
                // Nothing is announced again: the recovered entities re-drive what they own.
                var run = await Eventually.HoldsAsync(() => Run(http), r => r?["finalizedGeneration"]?.GetValueKind() == JsonValueKind.Number,
                    TimeSpan.FromMinutes(4), "the run finalized by the second node");
                Assert.Equal(Steps.Length, run!["indexed"]!.GetValue<int>());
                Assert.Equal(run["generation"]!.GetValue<int>(), run["finalizedGeneration"]!.GetValue<int>());
            }

            var prefix = Path.Combine(work, "store", Dataset, "20261124T0600Z");
            var perFile = Directory.GetDirectories(Path.Combine(prefix, "files")).Select(Path.GetFileName).Order().ToList();
            Assert.Equal(Steps.Select(s => $"model.t06z.f{s:000}.grib2.zarr"), perFile);
            var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json")))!;
            Assert.Equal(Steps.Length, manifest["files"]!.AsArray().Select(f => f!["dataId"]!.GetValue<string>()).Distinct().Count());
            Assert.Equal(Steps.Length * 5, manifest["fields"]!.GetValue<int>());
            Assert.Empty(manifest["failed"]!.AsArray());
            // No temporary or partial object is left visible in the store.
            Assert.Empty(Directory.EnumerateFiles(prefix, "*.tmp", SearchOption.AllDirectories));
        }
        catch
        {
            foreach (var node in nodes) output.WriteLine($"--- node {node.RemotingPort} ---\n{node.Log}");
            throw;
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Rel(int step) => $"m/20261124/06/model.t06z.f{step:000}.grib2";

    private static async Task<JsonNode?> Run(HttpClient http)
    {
        var response = await http.GetAsync("/api/runs/" + Uri.EscapeDataString(Dataset + "/2026-11-24T06Z"));
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
    }
}
