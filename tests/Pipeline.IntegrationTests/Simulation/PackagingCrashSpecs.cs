using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.IntegrationTests.Simulation;

/// <summary>
/// A <c>pipeline serve</c> process killed with SIGKILL while a packaging job waits for an input: a new process on
/// the same journal and store resumes the job by itself (the packaging registry wakes unfinished jobs), and the job
/// completes once, with its package and datapackage.json in the store.
/// </summary>
public sealed class PackagingCrashSpecs(ITestOutputHelper output)
{
    private const string Dataset = "sim.pkg";
    private static readonly int[] Steps = [0, 6, 12];

    [ServiceFact(Service.Python)]
    public async Task Should_resume_a_packaging_job_and_complete_it_once_when_the_node_is_killed_mid_job_and_restarted()
    {
        var work = Directory.CreateTempSubdirectory("pipeline-pkgcrash-").FullName;
        var nodes = new List<NodeProcess>();
        try
        {
            var data = Path.Combine(work, "served");
            await RunFixtures.RunAsync(Path.Combine(data, "m", "20261124", "06"), "20261124", 6, Steps);
            await using var server = await LocalFileServer.StartAsync(data);
            var env = new Dictionary<string, string>
            {
                ["Pipeline__Node__SystemName"] = "pipeline-sim",
                ["Pipeline__Management__Token"] = TestNode.Token,
                ["Pipeline__Datasets__0__Id"] = Dataset,
                ["Pipeline__Datasets__0__PathPatterns__0"] = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
                ["Pipeline__Datasets__0__Completeness__ExpectedCount"] = Steps.Length.ToString(),
                ["Pipeline__Packaging__InputRetryDelay"] = "00:00:00.300",
            };
            var first = NodeProcess.Start(NodeProcess.FreePort(), env, work);
            nodes.Add(first);
            string id;
            using (var http = ManagementHttp.Client(first.Management, TestNode.Token))
            {
                await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromMinutes(3), "first node ready");
                foreach (var step in Steps)
                {
                    var response = await http.PostAsJsonAsync("/api/announcements", new { url = server.Url(Rel(step)).AbsoluteUri });
                    Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                }
                await Eventually.HoldsAsync(() => Json(http, "/api/runs/" + Uri.EscapeDataString(Dataset + "/2026-11-24T06Z")),
                    r => r?["finalizedGeneration"]?.GetValueKind() == JsonValueKind.Number, TimeSpan.FromMinutes(3), "the run finalized");
                var boundary = await http.PostAsync("/api/boundaries?name=Box", new StringContent(
                    """{ "type": "Polygon", "coordinates": [[[-40, -30], [60, -30], [60, 40], [-40, 40], [-40, -30]]] }""", Encoding.UTF8, "application/geo+json"));
                Assert.True(boundary.IsSuccessStatusCode, await boundary.Content.ReadAsStringAsync());

                // The last input is held: the job starts, fetches the others and waits for it.
                server.Hold(Rel(Steps[^1]));
                var submitted = await http.PostAsJsonAsync("/api/jobs", new { dataset = Dataset, run = "latest", boundary = "Box" });
                Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
                id = (await submitted.Content.ReadFromJsonAsync<JsonNode>())!["jobId"]!.GetValue<string>();
                await Eventually.HoldsAsync(() => Json(http, "/api/jobs/" + id),
                    j => j?["steps"]?.AsArray().Any(s => s!["detail"]?.GetValue<string>()?.StartsWith("waiting") == true) == true, TimeSpan.FromMinutes(2),
                    "the job waiting for its last input");
            }

            first.Kill();
            await Eventually.HoldsAsync(() => Task.FromResult(first.HasExited), e => e, what: "the first node gone");
            server.Publish(Rel(Steps[^1]));

            var second = NodeProcess.Start(NodeProcess.FreePort(), env, work);
            nodes.Add(second);
            using (var http = ManagementHttp.Client(second.Management, TestNode.Token))
            {
                // Nobody submits again: the recovered registry wakes the job, which starts its next attempt.
                var job = await Eventually.HoldsAsync(() => Json(http, "/api/jobs/" + id),
                    j => j?["status"]?.GetValue<string>() is "Succeeded" or "Failed", TimeSpan.FromMinutes(4), "the job finished on the second node");
                Assert.True(job!["status"]!.GetValue<string>() == "Succeeded", job.ToJsonString());
                Assert.True(job["attempt"]!.GetValue<int>() >= 2, job.ToJsonString());
                Assert.Equal(1, job["completions"]!.GetValue<int>());
                var package = job["packages"]!.AsArray().Single()!;
                var root = Path.Combine(work, "data", "store", package["prefix"]!.GetValue<string>());
                var datapackage = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "datapackage.json")))!;
                Assert.Equal(Steps.Length, datapackage["sources"]!.AsArray().Count);
                var provenance = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "provenance.json")))!;
                Assert.Equal(Steps.Length, provenance["inputs"]!.AsArray().Count);

                // Submitting the same job again returns it, finished; it is not run a second time.
                var again = await http.PostAsJsonAsync("/api/jobs", new { dataset = Dataset, run = "latest", boundary = "Box" });
                var view = await again.Content.ReadFromJsonAsync<JsonNode>();
                Assert.Equal(id, view!["jobId"]!.GetValue<string>());
                Assert.Equal("Succeeded", view["status"]!.GetValue<string>());
                Assert.Equal(1, view["completions"]!.GetValue<int>());
            }
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

    private static async Task<JsonNode?> Json(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
    }
}
