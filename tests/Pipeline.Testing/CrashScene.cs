using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Testing;

/// <summary>
/// What every crash spec sets up around its <c>pipeline serve</c> processes: a scratch directory, a model run of GRIB2
/// files (ecCodes) served by a <see cref="LocalFileServer"/>, one dataset matching them, nodes started with that
/// dataset's settings, announcements posted, a node killed with SIGKILL, and at the end every node stopped and the
/// directory removed. The specs keep their own steps and assertions; <see cref="Logs"/> is for their failure output.
/// </summary>
public sealed class CrashScene : IAsyncDisposable
{
    /// <summary>The run's date and cycle (2026-11-24 06Z) as served under <c>m/20261124/06/</c>.</summary>
    public const string RunId = "2026-11-24T06Z";

    /// <summary>The dataset's path pattern for <see cref="Rel"/>.</summary>
    public const string PathPattern = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$";

    private readonly List<NodeProcess> _nodes = [];

    private CrashScene(string work, string dataset, IReadOnlyList<int> steps, LocalFileServer server)
    {
        Work = work;
        Dataset = dataset;
        Steps = steps;
        Server = server;
    }

    /// <summary>The scratch directory (removed at the end).</summary>
    public string Work { get; }

    public string Dataset { get; }

    public IReadOnlyList<int> Steps { get; }

    /// <summary>Serves the run's files; <see cref="LocalFileServer.Hold"/> makes one "not published yet" (404).</summary>
    public LocalFileServer Server { get; }

    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <summary>Makes the run's files (one per step, ecCodes, tiny grids) and serves them.</summary>
    public static async Task<CrashScene> CreateAsync(string name, string dataset, IEnumerable<int> steps)
    {
        var work = Directory.CreateTempSubdirectory($"pipeline-{name}-").FullName;
        try
        {
            var list = steps.ToArray();
            var data = Path.Combine(work, "served");
            await RunFixtures.RunAsync(Path.Combine(data, "m", "20261124", "06"), "20261124", 6, list);
            return new CrashScene(work, dataset, list, await LocalFileServer.StartAsync(data));
        }
        catch
        {
            TryDelete(work);
            throw;
        }
    }

    /// <summary>The path of a step's file under the served root.</summary>
    public static string Rel(int step) => $"m/20261124/06/model.t06z.f{step:000}.grib2";

    /// <summary>
    /// The settings every crash spec's nodes share: the actor system name, the management token, and the one dataset
    /// (its id, path pattern, and expected count = the number of steps); <paramref name="extra"/> adds or overrides.
    /// </summary>
    public Dictionary<string, string> Environment(string systemName, IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Pipeline__Node__SystemName"] = systemName,
            ["Pipeline__Management__Token"] = TestNode.Token,
            ["Pipeline__Datasets__0__Id"] = Dataset,
            ["Pipeline__Datasets__0__PathPatterns__0"] = PathPattern,
            ["Pipeline__Datasets__0__Completeness__ExpectedCount"] = Steps.Count.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) env[key] = value;
        return env;
    }

    /// <summary>Starts a node (working directory: <paramref name="directory"/>, else <see cref="Work"/>); it is stopped at the end.</summary>
    public NodeProcess StartNode(IReadOnlyDictionary<string, string> environment, string? directory = null, int? remotingPort = null)
    {
        var node = NodeProcess.Start(remotingPort ?? NodeProcess.FreePort(), environment, directory ?? Work);
        _nodes.Add(node);
        return node;
    }

    /// <summary>A management client with the token, once the node answers ready.</summary>
    public static async Task<HttpClient> ReadyClientAsync(NodeProcess node, TimeSpan? within = null)
    {
        var http = ManagementHttp.Client(node.Management, TestNode.Token);
        try
        {
            await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode, within ?? TimeSpan.FromMinutes(3),
                $"node {node.RemotingPort} ready");
            return http;
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Announces a step's file through <c>POST /api/announcements</c> and fails with the answer unless it is admitted.</summary>
    public async Task AnnounceAsync(HttpClient http, int step)
    {
        var response = await http.PostAsJsonAsync("/api/announcements", new { url = Server.Url(Rel(step)).AbsoluteUri });
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"announcing {Rel(step)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>SIGKILL, and waits until the process is gone.</summary>
    public static async Task KillAsync(NodeProcess node)
    {
        node.Kill();
        await Eventually.HoldsAsync(() => Task.FromResult(node.HasExited), e => e, what: $"node {node.RemotingPort} gone");
    }

    /// <summary>A management resource as JSON, or null while it answers an error.</summary>
    public static async Task<JsonNode?> JsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
    }

    /// <summary>The run as its entity sees it (<c>GET /api/runs/{dataset}/{run}</c>), or null while unknown.</summary>
    public Task<JsonNode?> RunAsync(HttpClient http) => JsonAsync(http, "/api/runs/" + Uri.EscapeDataString(Dataset + "/" + RunId));

    /// <summary>Every node's captured output, for a failure message.</summary>
    public string Logs() => string.Join('\n', _nodes.Select((n, i) => $"--- node {i} ({n.RemotingPort}) ---\n{n.Log}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        await Server.DisposeAsync();
        TryDelete(Work);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
