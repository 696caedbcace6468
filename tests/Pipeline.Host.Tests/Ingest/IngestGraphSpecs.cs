using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>
/// The whole graph on one real node (SQLite journal, local store): Sarracenia v03 announcements are admitted, the
/// files fetched from a real HTTP server (one announced before it exists), decoded, written, the run finalized; the
/// result is read back with xarray and compared with what ecCodes decodes from the same files.
/// </summary>
public sealed class IngestGraphSpecs : IAsyncLifetime
{
    private const string Dataset = "test.model";
    private const string Date = "20261124";
    private static readonly int[] Steps = [0, 6, 12, 18];

    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-ingest-").FullName;
    private string Data => Path.Combine(_root, "data");
    private string Store => Path.Combine(_root, "store");
    private JsonNode _manifest = null!;

    public async Task InitializeAsync()
    {
        if (TestServices.SkipReason([Service.Python]) is not null) return;
        var dir = Path.Combine(Data, "model", Date, "00");
        await RunFixtures.RunAsync(dir, Date, 0, Steps);
        _manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "manifest.json")))!;
        // A second run whose only file is an HTML error page served with 200.
        Directory.CreateDirectory(Path.Combine(Data, "model", "20261125", "00"));
        await File.WriteAllTextAsync(Path.Combine(Data, "model", "20261125", "00", "model.t00z.f000.grib2"), "<html><body>Service unavailable</body></html>");
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

    private Dictionary<string, string?> Settings() => new()
    {
        ["Pipeline:Datasets:0:Id"] = Dataset,
        ["Pipeline:Datasets:0:PathPatterns:0"] = @"^model/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
        ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = Steps.Length.ToString(),
        ["Pipeline:Datasets:0:Fetch:RetryDelay"] = "00:00:01",
        ["Pipeline:Datasets:0:Fetch:MaxAttempts"] = "60",
        ["Pipeline:Datasets:0:Outputs:Store"] = Store,
        ["Pipeline:Datasets:0:Outputs:Format"] = "zarr2",
        // The browsable per-file Zarr through the whole graph (the simulation specs run the default, staging).
        ["Pipeline:Datasets:0:Outputs:FileZarr"] = "full",
    };

    [ServiceFact(Service.Python)]
    public async Task Should_turn_announcements_into_a_finalized_run_that_xarray_reads_as_ecCodes_decodes_it_when_a_file_comes_late()
    {
        await using var server = await LocalFileServer.StartAsync(Data);
        var late = $"model/{Date}/00/model.t00z.f{Steps[^1]:000}.grib2";
        server.Hold(late);
        await using var node = await Nodes.StartAsync(Settings());
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();

        async Task<bool> Announce(string relPath)
        {
            var path = Path.Combine(Data, relPath);
            var bytes = File.Exists(path) ? await File.ReadAllBytesAsync(path) : "not here"u8.ToArray();
            return await injector.InjectAsync(new InboundMessage("test-feed", "v03.test", Feeds.V03(server.BaseUrl, relPath, bytes)));
        }

        foreach (var step in Steps) Assert.True(await Announce($"model/{Date}/00/model.t00z.f{step:000}.grib2"));
        Assert.True(await Announce($"model/{Date}/00/model.t00z.f000.grib2")); // a duplicate: acked, not admitted again
        Assert.True(await Announce("elsewhere/unknown.grib2"));                // no dataset: parked with the reason, acked

        // The held file is retried on the entity's timer: let a few 404s happen, then publish it.
        await Eventually.HoldsAsync(() => Task.FromResult(server.Requests(late)), n => n >= 2, what: "the late file requested while not published");
        server.Publish(late);

        using var http = node.Client();
        var runId = Uri.EscapeDataString($"{Dataset}/2026-11-24T00Z");
        var run = await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"),
            r => r.GetProperty("finalizedGeneration").ValueKind == JsonValueKind.Number, TimeSpan.FromMinutes(3), "the run finalized");
        Assert.Equal(Steps.Length, run.GetProperty("files").GetArrayLength());
        Assert.Equal(Steps.Length, run.GetProperty("indexed").GetInt32());

        // Outputs: a Zarr, references and an index per file, the whole run, the manifest.
        var prefix = Path.Combine(Store, Dataset, "20261124T0000Z");
        foreach (var step in Steps)
        {
            var name = $"model.t00z.f{step:000}.grib2";
            Assert.True(File.Exists(Path.Combine(prefix, "files", name + ".zarr", ".zmetadata")), $"{name}: per-file Zarr");
            var refs = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "refs", name + ".json")))!.AsArray();
            Assert.Equal(5, refs.Count);
            Assert.Contains(server.Url($"model/{Date}/00/{name}").AbsoluteUri, refs[0]!.ToJsonString());
            Assert.Equal(5, (await File.ReadAllLinesAsync(Path.Combine(prefix, "idx", name + ".idx"))).Length);
        }
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json")))!;
        Assert.Equal(Steps.Length, manifest["files"]!.AsArray().Count);
        Assert.Equal(Steps.Length * 5, manifest["fields"]!.GetValue<int>());
        Assert.Equal("grib2", manifest["format"]!.GetValue<string>());
        // The run's chunks were copied from the per-file Zarrs, not decoded again (the oracle below still checks every value).
        Assert.Equal(Steps.Length * 5, manifest["fieldsCopied"]!.GetValue<int>());

        // The oracle: xarray opens every group of the run Zarr; each value equals ecCodes' decode of the source file.
        var check = await RunFixtures.PythonAsync("-c", """
            import json, sys, numpy as np, zarr, xarray as xr
            store, manifest = sys.argv[1], json.load(open(sys.argv[2]))
            root = zarr.open_group(store, mode="r")
            found = 0
            for g in root.group_keys():
                ds = xr.open_zarr(store, group=g, consolidated=False)
                for f in manifest["files"]:
                    for m in f["messages"]:
                        for name, v in ds.data_vars.items():
                            if v.attrs.get("GRIB_shortName") != m["shortName"] or v.attrs.get("GRIB_typeOfLevel") != m["typeOfLevel"]: continue
                            sel = {}
                            if "step" in v.dims: sel["step"] = np.timedelta64(m["step"], "h")
                            lev = [d for d in v.dims if d == m["typeOfLevel"]]
                            if lev: sel[lev[0]] = m["level"]
                            got = v.sel(**sel).values.ravel()
                            want = np.array(m["values"])
                            assert np.allclose(got, want, atol=1e-3), (g, name, m["step"], m["level"])
                            found += 1
            print(found)
            """, Path.Combine(prefix, "run.zarr"), Path.Combine(Data, "model", Date, "00", "manifest.json"));
        Assert.Equal(Steps.Length * 5, int.Parse(check.Trim().Split('\n')[^1]));

        // Metrics: files, values, fetched bytes, queue depths, admission outcomes and lag per dataset are exported.
        var metrics = await http.GetStringAsync("/metrics");
        foreach (var name in new[] { "pipeline_ingest_files_indexed", "pipeline_ingest_values", "pipeline_ingest_queue_depth", "pipeline_announcements",
                     "pipeline_fetch_bytes", "pipeline_ingest_latency", "pipeline_dataset_lag", "pipeline_dataset_admitted" })
            Assert.Contains(name, metrics);

        // The unmatched announcement was parked with its reason.
        var parked = await File.ReadAllTextAsync(Path.Combine(node.DataDirectory, "deadletters.jsonl"));
        Assert.Contains("elsewhere/unknown.grib2", parked);
        Assert.Contains("no dataset", parked);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_fail_a_file_for_good_with_the_reason_when_the_server_sends_an_error_page_instead_of_GRIB()
    {
        await using var server = await LocalFileServer.StartAsync(Data);
        await using var node = await Nodes.StartAsync(Settings());
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();
        const string relPath = "model/20261125/00/model.t00z.f000.grib2";
        var html = await File.ReadAllBytesAsync(Path.Combine(Data, relPath));
        Assert.True(await injector.InjectAsync(new InboundMessage("test-feed", "v03.test", Feeds.V03(server.BaseUrl, relPath, html))));

        using var http = node.Client();
        var run = await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString($"{Dataset}/2026-11-25T00Z")),
            r => r.GetProperty("failed").GetInt32() == 1, TimeSpan.FromMinutes(2), "the file failed");
        var file = Assert.Single(run.GetProperty("files").EnumerateArray());
        var reason = file.GetProperty("failureReason").GetString()!;
        Assert.Contains(relPath, reason);
        Assert.False(Directory.Exists(Path.Combine(Store, Dataset, "20261125T0000Z", "files")), "nothing written for a corrupt file");
    }
}
