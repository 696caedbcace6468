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
        await using var scene = await CrashScene.CreateAsync("pkgcrash", Dataset, Steps);
        try
        {
            var server = scene.Server;
            var env = scene.Environment("pipeline-sim", new Dictionary<string, string>
            {
                ["Pipeline__Packaging__InputRetryDelay"] = "00:00:00.300",
            });
            var first = scene.StartNode(env);
            string id;
            using (var http = await CrashScene.ReadyClientAsync(first))
            {
                foreach (var step in Steps) await scene.AnnounceAsync(http, step);
                await Eventually.HoldsAsync(() => scene.RunAsync(http),
                    r => r?["finalizedGeneration"]?.GetValueKind() == JsonValueKind.Number, TimeSpan.FromMinutes(3), "the run finalized");
                var boundary = await http.PostAsync("/api/boundaries?name=Box", new StringContent(
                    """{ "type": "Polygon", "coordinates": [[[-40, -30], [60, -30], [60, 40], [-40, 40], [-40, -30]]] }""", Encoding.UTF8, "application/geo+json"));
                Assert.True(boundary.IsSuccessStatusCode, await boundary.Content.ReadAsStringAsync());

                // The last input is held: the job starts, fetches the others and waits for it.
                server.Hold(CrashScene.Rel(Steps[^1]));
                var submitted = await http.PostAsJsonAsync("/api/jobs", new { dataset = Dataset, run = "latest", boundary = "Box" });
                Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
                id = (await submitted.Content.ReadFromJsonAsync<JsonNode>())!["jobId"]!.GetValue<string>();
                await Eventually.HoldsAsync(() => CrashScene.JsonAsync(http, "/api/jobs/" + id),
                    j => j?["steps"]?.AsArray().Any(s => s!["detail"]?.GetValue<string>()?.StartsWith("waiting") == true) == true, TimeSpan.FromMinutes(2),
                    "the job waiting for its last input");
            }

            await CrashScene.KillAsync(first);
            server.Publish(CrashScene.Rel(Steps[^1]));

            var second = scene.StartNode(env);
            using (var http = ManagementHttp.Client(second.Management, TestNode.Token))
            {
                // Nobody submits again: the recovered registry wakes the job, which starts its next attempt.
                var job = await Eventually.HoldsAsync(() => CrashScene.JsonAsync(http, "/api/jobs/" + id),
                    j => j?["status"]?.GetValue<string>() is "Succeeded" or "Failed", TimeSpan.FromMinutes(4), "the job finished on the second node");
                Assert.True(job!["status"]!.GetValue<string>() == "Succeeded", job.ToJsonString());
                Assert.True(job["attempt"]!.GetValue<int>() >= 2, job.ToJsonString());
                Assert.Equal(1, job["completions"]!.GetValue<int>());
                var package = job["packages"]!.AsArray().Single()!;
                var root = Path.Combine(scene.Work, "data", "store", package["prefix"]!.GetValue<string>());
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
            output.WriteLine(scene.Logs());
            throw;
        }
    }
}
