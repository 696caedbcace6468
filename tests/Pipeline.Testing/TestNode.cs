using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Pipeline.Testing;

/// <summary>
/// A real node (built by the caller, normally <c>PipelineHost.Build</c>) with its management API on a free
/// loopback port and Akka.Remote on a free port, started and ready (member Up).
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    public const string Token = "test-token-0123456789abcdef";

    private readonly DirectoryInfo _data;

    private TestNode(WebApplication app, Uri address, DirectoryInfo data)
    {
        App = app;
        Address = address;
        _data = data;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>The node's own temporary data directory (journal, download cache, default store, dead letters).</summary>
    public string DataDirectory => _data.FullName;

    public static async Task<TestNode> StartAsync(
        Func<IReadOnlyDictionary<string, string?>, WebApplication> build, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var data = Directory.CreateTempSubdirectory("pipeline-node-");
        var settings = new Dictionary<string, string?>
        {
            ["Pipeline:Persistence:DataDirectory"] = data.FullName,
            ["Pipeline:Ingest:DataDirectory"] = data.FullName,
            ["Pipeline:Node:Port"] = "0",
            ["Pipeline:Node:SystemName"] = "pipeline-test",
            ["Pipeline:Management:Urls"] = "http://127.0.0.1:0",
            ["Pipeline:Management:Token"] = Token,
            // Generous: the suite runs on a loaded 2-core machine; a slow answer must not fail a test.
            ["Pipeline:Management:AskTimeout"] = "00:00:45",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>()) settings[key] = value;
        var app = build(settings);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var node = new TestNode(app, new Uri(address), data);
        using var http = node.Client();
        await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode, what: "node ready");
        return node;
    }

    public HttpClient Client(string? token = null) => ManagementHttp.Client(Address, token);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            _data.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a closing connection: the temp directory is cleaned by the harness anyway.
        }
    }
}
