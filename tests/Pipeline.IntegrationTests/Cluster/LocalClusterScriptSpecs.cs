using System.Diagnostics;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.IntegrationTests.Cluster;

/// <summary>
/// deploy/local-cluster.sh as an operator runs it: three nodes on loopback sharing the harness's PostgreSQL journal,
/// all Up; one killed with SIGKILL is downed while the other two stay Up; stop leaves no node running.
/// </summary>
public sealed class LocalClusterScriptSpecs(ITestOutputHelper output)
{
    [ServiceFact(Service.PostgreSql)]
    public async Task Should_start_three_nodes_survive_a_kill_and_stop_them_all_when_driven_by_the_script()
    {
        var state = Directory.CreateTempSubdirectory("pipeline-local-cluster-").FullName;
        var script = Path.Combine(RepositoryRoot(), "deploy", "local-cluster.sh");
        var env = new Dictionary<string, string>
        {
            ["PIPELINE_CLUSTER_STATE"] = state,
            ["PIPELINE_SYSTEM"] = "pipeline-script",
            ["Pipeline__Persistence__Provider"] = "PostgreSql",
            ["Pipeline__Persistence__ConnectionString"] = TestServices.PostgreSql,
            ["Pipeline__Persistence__Schema"] = "script_" + Guid.NewGuid().ToString("N")[..8],
            ["Pipeline__Cluster__StableAfter"] = "00:00:05",
        };
        try
        {
            var (code, text) = await RunAsync(script, env, TimeSpan.FromMinutes(15), "start", "3");
            output.WriteLine(text);
            Assert.True(code == 0, text);
            Assert.Contains("3 members Up", text);

            (code, text) = await RunAsync(script, env, TimeSpan.FromMinutes(1), "kill", "3");
            Assert.True(code == 0, text);
            await Eventually.HoldsAsync(async () => (await RunAsync(script, env, TimeSpan.FromMinutes(1), "status")).Output,
                s => CountOf(s, "\"status\": \"Up\"") == 2 && CountOf(s, "\"status\"") == 2,
                TimeSpan.FromMinutes(3), "the killed node downed, two Up");
        }
        finally
        {
            var (_, stopped) = await RunAsync(script, env, TimeSpan.FromMinutes(1), "stop");
            output.WriteLine(stopped);
            foreach (var log in Directory.GetFiles(state, "node*.log")) output.WriteLine($"--- {log} ---\n{File.ReadAllText(log)[^Math.Min(4000, (int)new FileInfo(log).Length)..]}");
            Assert.Empty(Directory.GetFiles(state, "node*.pid"));
            try
            {
                Directory.Delete(state, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static int CountOf(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static async Task<(int Code, string Output)> RunAsync(string script, IReadOnlyDictionary<string, string> env, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"local-cluster.sh {string.Join(' ', args)} did not finish in {timeout}\n{await stdout}{await stderr}");
        }
        return (p.ExitCode, await stdout + await stderr);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PipelineCluster.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("PipelineCluster.sln not found");
    }
}
