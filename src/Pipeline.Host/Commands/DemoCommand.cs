using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Host.Demo;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Ingest;
using Spectre.Console;

namespace Pipeline.Host.Commands;

/// <summary>
/// <c>pipeline demo</c>: the whole pipeline on embedded defaults, on a fresh machine with nothing but the .NET SDK.
/// One node (SQLite journal and local store under <c>--dir</c>), MQTTnet's embedded broker for the WIS2
/// notifications, a local HTTP data server with a generated model run, and a simulated Sarracenia v03 feed that
/// announces it with realistic timing (some files before they exist, one twice, two out of order).
/// </summary>
public static class DemoCommand
{
    public const string Dataset = "demo.global-1p00";
    public const string Topic = "origin/a/wis2/xx-pipeline-demo/data/core/weather/prediction/forecast/short-range/deterministic";

    public static Command Build()
    {
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Where the journal, the download cache and the store go", DefaultValueFactory = _ => new DirectoryInfo("data") };
        var keep = new Option<bool>("--keep-running") { Description = "Leave the node, its API and status page up after the run (Ctrl-C stops it)" };
        var duration = new Option<double>("--duration") { Description = "Seconds over which the feed announces the run", DefaultValueFactory = _ => 16 };
        var resolution = new Option<double>("--resolution") { Description = "Grid spacing of the generated run, degrees", DefaultValueFactory = _ => 1.0 };
        var port = new Option<int>("--port") { Description = "Management API port (0: any free port)", DefaultValueFactory = _ => 8558 };
        var timeout = new Option<double>("--timeout") { Description = "Give up (exit code 1) if the run is not finalized within this many seconds", DefaultValueFactory = _ => 600 };
        var command = new Command("demo", "Run the whole pipeline on embedded defaults against a simulated feed and print where the Zarr is")
        {
            dir, keep, duration, resolution, port, timeout,
        };
        command.SetAction((parse, cancel) => RunAsync(parse.GetValue(dir)!, parse.GetValue(keep), parse.GetValue(duration), parse.GetValue(resolution),
            parse.GetValue(port), TimeSpan.FromSeconds(parse.GetValue(timeout)), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancel));
        return command;
    }

    private static async Task<int> RunAsync(DirectoryInfo dir, bool keepRunning, double duration, double resolution, int port, TimeSpan timeout,
        TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var root = Path.GetFullPath(dir.FullName);
        Directory.CreateDirectory(root);
        // Every demo is a new run (reference time: this minute), so a second demo shows the whole story again.
        var now = DateTime.UtcNow;
        var runTime = new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, DateTimeKind.Utc);
        var source = Path.Combine(root, "demo-source");
        stdout.WriteLine($"Generating a model run ({resolution:0.##}° global grid) under {source} ...");
        var run = DemoModelRun.Generate(source, new DemoModelRunOptions { RunTime = runTime, Resolution = resolution }, cancel);

        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var server = await DemoDataServer.StartAsync(source, cancellationToken: cancel);
        var feed = new DemoFeed(run, server, new DemoFeedOptions { Duration = TimeSpan.FromSeconds(duration) });
        var store = Path.Combine(root, "store");
        if (port == 0) port = FreePort();
        var overrides = new Dictionary<string, string?>
        {
            ["Pipeline:Node:Port"] = "0",
            ["Pipeline:Management:Urls"] = $"http://127.0.0.1:{port}",
            ["Pipeline:Persistence:DataDirectory"] = root,
            ["Pipeline:Ingest:DataDirectory"] = root,
            ["Pipeline:Wis2:Broker"] = broker.Uri,
            ["Pipeline:Wis2:ClientId"] = "pipeline-demo",
            ["Pipeline:Datasets:0:Id"] = Dataset,
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2}(?:\d{2})?)/[a-z]+\.t\d{2}z\.pgrb2\.[0-9a-z]+\.f(?<step>\d{3})$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = run.Files.Count.ToString(CultureInfo.InvariantCulture),
            ["Pipeline:Datasets:0:Fetch:RetryDelay"] = "00:00:01",
            ["Pipeline:Datasets:0:Fetch:MaxAttempts"] = "300",
            ["Pipeline:Ingest:DefaultStore"] = store,
            ["Pipeline:Datasets:0:Outputs:Store"] = store,
            // The node serves its store at /store, so the notifications link to http URLs.
            ["Pipeline:Datasets:0:Outputs:PublicBaseUrl"] = $"http://127.0.0.1:{port}/store",
            ["Pipeline:Datasets:0:Outputs:WnmTopic"] = Topic,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Pipeline"] = "Warning",
        };
        var app = PipelineHost.Build([], overrides: overrides);
        try
        {
            await app.StartAsync(cancel);
        }
        catch (IOException e)
        {
            await stderr.WriteLineAsync($"pipeline demo: port {port} is taken ({e.Message}); use --port 0 for any free port");
            await app.DisposeAsync();
            return 2;
        }

        try
        {
            var api = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var graph = app.Services.GetRequiredService<IngestGraph>();
            var injector = app.Services.GetRequiredService<AnnouncementInjector>();
            var runs = await app.Services.GetRequiredService<IRequiredActor<ModelRunRegion>>().GetAsync(cancel);
            var streams = await app.Services.GetRequiredService<IRequiredActor<DataStreamRegion>>().GetAsync(cancel);
            var runId = new ModelRunId(new DatasetId(Dataset), new DateTimeOffset(run.RunTime, TimeSpan.Zero));
            stdout.WriteLine($"Node up: API {api}, status page {api}/status. Announcing {run.Files.Count} files over {duration:0} s.");

            var announced = 0;
            var feeding = Task.Run(async () =>
            {
                await foreach (var a in feed.ReadAllAsync(cancel))
                {
                    Interlocked.Increment(ref announced);
                    _ = injector.InjectAsync(new InboundMessage("demo-feed", a.Topic, a.Body), cancel);
                }
            }, cancel);

            ModelRunView? view = null;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            deadline.CancelAfter(timeout);
            async Task<ModelRunView?> Poll()
            {
                try
                {
                    return await runs.Ask<ModelRunView>(new GetModelRun(runId), TimeSpan.FromSeconds(10), deadline.Token);
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                {
                    return view;
                }
            }
            bool Finalized(ModelRunView? v) => v is { FinalizedGeneration: { } g } && g == v.Generation && v.Files.Count > 0;

            var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            if (interactive)
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("stage", "count");
                await AnsiConsole.Live(table).StartAsync(async ctx =>
                {
                    while (!deadline.IsCancellationRequested && !Finalized(view))
                    {
                        view = await Poll();
                        Fill(table, run, announced, view, graph, server, broker);
                        ctx.Refresh();
                        try
                        {
                            await Task.Delay(250, deadline.Token);
                        }
                        catch (TaskCanceledException)
                        {
                        }
                    }
                    Fill(table, run, announced, view, graph, server, broker);
                    ctx.Refresh();
                });
            }
            else
            {
                var last = "";
                while (!deadline.IsCancellationRequested && !Finalized(view))
                {
                    view = await Poll();
                    var line = $"announced {announced}/{run.Files.Count + 1}, indexed {view?.Indexed ?? 0}/{run.Files.Count}, waiting {view?.Waiting ?? 0}, " +
                               $"values {graph.Values:N0}, notifications {broker.Published}";
                    if (line != last) stdout.WriteLine(line);
                    last = line;
                    try
                    {
                        await Task.Delay(1000, deadline.Token);
                    }
                    catch (TaskCanceledException)
                    {
                    }
                }
            }

            if (!Finalized(view))
            {
                await stderr.WriteLineAsync(cancel.IsCancellationRequested
                    ? "pipeline demo: interrupted"
                    : $"pipeline demo: the run was not finalized within {timeout.TotalSeconds:0} s ({view?.Indexed ?? 0} of {run.Files.Count} files indexed, {view?.Failed ?? 0} failed)");
                return 1;
            }
            await feeding;
            var status = await streams.Ask<DataStreamStatus>(new GetDataStream(new DatasetId(Dataset)), TimeSpan.FromSeconds(10), cancel);
            var prefix = Path.Combine(store, Dataset, OutputLayout.RunPrefix(runId).Split('/')[^1]);
            var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json"), cancel))!;
            var groups = manifest["groups"]!.AsArray().Select(g => g!.GetValue<string>()).ToList();
            // Absolute: `dotnet run --project` runs in the project's folder, not the shell's, so a relative path misleads.
            var zarr = Path.GetFullPath(Path.Combine(prefix, "run.zarr"));
            // Notifications: one per file and one for the run; give the last one a moment to reach the broker.
            await WaitAsync(() => broker.Published >= run.Files.Count + 1, TimeSpan.FromSeconds(10));

            stdout.WriteLine();
            stdout.WriteLine($"Run {runId} finalized in {clock.Elapsed.TotalSeconds:0.0} s:");
            stdout.WriteLine($"  files       {view!.Indexed} indexed, {view.Failed} failed ({status.Duplicates} duplicate announcement{(status.Duplicates == 1 ? "" : "s")} ignored)");
            stdout.WriteLine($"  early       {server.RequestsBeforePublication} requests answered 404 before publication, retried until 200");
            stdout.WriteLine($"  values      {manifest["values"]!.GetValue<long>():N0} decoded in {manifest["fields"]} fields, {run.TotalBytes / 1e6:0.0} MB of GRIB2");
            stdout.WriteLine($"  Zarr        {zarr} (groups: {string.Join(", ", groups)}), references and .idx per file beside it");
            stdout.WriteLine($"  WIS2        {broker.Published} notifications on {Topic}");
            stdout.WriteLine();
            stdout.WriteLine("Open it in Python:");
            stdout.WriteLine("  import xarray as xr");
            stdout.WriteLine($"  ds = xr.open_zarr(\"{zarr}\", group=\"{(groups.Contains("isobaricInhPa") ? "isobaricInhPa" : groups.FirstOrDefault() ?? "")}\")");
            if (keepRunning)
            {
                stdout.WriteLine();
                stdout.WriteLine($"Still running: API {api}, status page {api}/status, docs {api}/docs. Ctrl-C stops.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancel);
                }
                catch (TaskCanceledException)
                {
                }
            }
            return 0;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    private static void Fill(Table table, DemoRun run, int announced, ModelRunView? view, IngestGraph graph, DemoDataServer server, EmbeddedMqttBroker broker)
    {
        table.Rows.Clear();
        table.AddRow("announced", $"{announced} / {run.Files.Count + 1} (one duplicate)");
        table.AddRow("404 before publication", server.RequestsBeforePublication.ToString(CultureInfo.InvariantCulture));
        table.AddRow("waiting to retry", (view?.Waiting ?? 0).ToString(CultureInfo.InvariantCulture));
        table.AddRow("indexed", $"{view?.Indexed ?? 0} / {run.Files.Count}");
        table.AddRow("values decoded", graph.Values.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("WIS2 notifications", broker.Published.ToString(CultureInfo.InvariantCulture));
        table.AddRow("run", view is { FinalizedGeneration: not null } ? "[green]finalized[/]" : view is { CompletedGeneration: not null } ? "complete, finalizing" : "in progress");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan within)
    {
        var end = DateTime.UtcNow + within;
        while (!condition() && DateTime.UtcNow < end) await Task.Delay(100);
    }
}
