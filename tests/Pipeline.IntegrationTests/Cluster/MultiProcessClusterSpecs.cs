using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.IntegrationTests.Cluster;

/// <summary>Three <c>pipeline serve</c> processes on loopback form one cluster and survive a kill -9 of a member.</summary>
[Trait(TestCategories.Category, TestCategories.Cluster)]
public sealed class MultiProcessClusterSpecs(ITestOutputHelper output)
{
    private const string System = "pipeline-it";

    [Fact]
    public async Task Should_down_a_killed_member_and_keep_the_majority_up_when_one_of_three_nodes_dies()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => NodeProcess.FreePort()).ToArray();
        var seeds = ports.Take(2).Select(p => $"akka.tcp://{System}@127.0.0.1:{p}").ToArray();
        var nodes = new List<NodeProcess>();
        try
        {
            foreach (var port in ports)
            {
                var env = new Dictionary<string, string>
                {
                    ["Pipeline__Node__SystemName"] = System,
                    ["Pipeline__Node__SeedNodes__0"] = seeds[0],
                    ["Pipeline__Node__SeedNodes__1"] = seeds[1],
                    ["Pipeline__Cluster__StableAfter"] = "00:00:05",
                };
                nodes.Add(NodeProcess.Start(port, env));
            }

            using var http = ManagementHttp.Client(nodes[0].Management);
            await Eventually.HoldsAsync(() => UpMembers(http), up => up == 3, TimeSpan.FromSeconds(180), "three Up members");

            var killed = nodes[2];
            var clock = Stopwatch.StartNew();
            killed.Kill();
            // The split brain resolver (keep-majority) downs the unreachable member; the two survivors stay Up.
            await Eventually.HoldsAsync(() => Members(http), m => m.Count == 2 && m.All(x => x.Status == "Up"),
                TimeSpan.FromSeconds(120), "the killed member removed and two Up members");
            output.WriteLine($"killed member removed after {clock.Elapsed.TotalSeconds:F1} s");

            var remaining = await Members(http);
            Assert.DoesNotContain(remaining, m => m.Node == killed.Address(System));
            Assert.False(nodes[0].HasExited, nodes[0].Log);
            Assert.False(nodes[1].HasExited, nodes[1].Log);
        }
        catch
        {
            foreach (var node in nodes) output.WriteLine($"--- node {node.RemotingPort} ---\n{node.Log}");
            throw;
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    private sealed record Member(string Node, string Status);

    private static async Task<List<Member>> Members(HttpClient http)
    {
        var json = await http.GetFromJsonAsync<JsonElement>("/cluster/members");
        return json.GetProperty("members").EnumerateArray()
            .Select(m => new Member(m.GetProperty("node").GetString()!, m.GetProperty("status").GetString()!))
            .ToList();
    }

    private static async Task<int> UpMembers(HttpClient http) => (await Members(http)).Count(m => m.Status == "Up");
}
