using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Ingest;
using Pipeline.Streams.Wis2;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>
/// NetCDF through the whole graph on one real node (issue 10): ROMS-shaped NetCDF-4 files of one run (announced
/// out of order) and a NetCDF-3 file are fetched from a real HTTP server, each gets its Zarr and its references into
/// the original URL, no .idx, a notification whose via link carries the NetCDF media type; the run is combined along
/// ocean_time. xarray reads the run Zarr and the combined references, netCDF4 the originals: the values agree
/// (tests/tools/netcdf_oracle.py). A truncated file and a GRIB2 file in a NetCDF run are refused or left out with
/// reasons that name them.
/// </summary>
public sealed class IngestNetCdfSpecs : IAsyncLifetime
{
    private const string WeatherTopic = "origin/a/wis2/xx-test/data/core/weather/prediction/forecast/short-range/deterministic";
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-ingest-nc-").FullName;
    private string Data => Path.Combine(_root, "data");
    private string Store => Path.Combine(_root, "store");
    private string Fixtures => Path.Combine(_root, "fixtures");

    public async Task InitializeAsync()
    {
        if (TestServices.SkipReason([Service.Python]) is not null) return;
        await RunFixtures.PythonAsync(Path.Combine(RunFixtures.RepositoryRoot(), "tests", "tools", "netcdf_fixture.py"), Fixtures);
        var run = Path.Combine(Data, "ofs", "20240101", "00");
        Directory.CreateDirectory(run);
        for (var i = 0; i < 3; i++) File.Copy(Path.Combine(Fixtures, $"roms_{i}.nc"), Path.Combine(run, $"roms.t00z.f00{i}.nc"));
        File.Copy(Path.Combine(Fixtures, "classic.nc"), Path.Combine(Data, "ofs", "20240102", "00", "roms.t00z.f000.nc").Also(Directory.CreateDirectory));
        // A truncated NetCDF-4 file (the signature is fine, the data is cut off) and a GRIB2 file announced in a NetCDF run.
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Fixtures, "roms_0.nc"));
        await File.WriteAllBytesAsync(Path.Combine(Data, "ofs", "20240103", "00", "roms.t00z.f000.nc").Also(Directory.CreateDirectory), bytes[..(bytes.Length * 2 / 3)]);
        File.Copy(Path.Combine(Fixtures, "roms_1.nc"), Path.Combine(Data, "ofs", "20240104", "00", "roms.t00z.f001.nc").Also(Directory.CreateDirectory));
        File.Copy(Path.Combine(Fixtures, "roms_2.nc"), Path.Combine(Data, "ofs", "20240104", "00", "roms.t00z.f002.nc"));
        await RunFixtures.RunAsync(Path.Combine(_root, "grib"), "20240104", 0, [0]);
        File.Copy(Path.Combine(_root, "grib", "model.t00z.f000.grib2"), Path.Combine(Data, "ofs", "20240104", "00", "roms.t00z.f000.grib2"));
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

    private Dictionary<string, string?> Settings(string? broker, string clientId) => new()
    {
        ["Pipeline:Datasets:0:Id"] = "test.ofs",
        ["Pipeline:Datasets:0:PathPatterns:0"] = @"^ofs/(?<date>\d{8})/(?<run>\d{2})/roms\.t\d{2}z\.f(?<step>\d{3})\.(nc|grib2)$",
        ["Pipeline:Datasets:0:Completeness:QuietPeriod"] = "00:00:03",
        ["Pipeline:Datasets:0:Outputs:Store"] = Store,
        ["Pipeline:Datasets:0:Outputs:PublicBaseUrl"] = "https://data.example.org/store",
        ["Pipeline:Datasets:0:Outputs:WnmTopic"] = broker is null ? null : WeatherTopic,
        ["Pipeline:Wis2:Broker"] = broker,
        ["Pipeline:Wis2:ClientId"] = clientId,
    };

    private async Task<JsonElement> FinalizedAsync(HttpClient http, string reftime) =>
        await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString($"test.ofs/{reftime}")),
            r => r.GetProperty("finalizedGeneration").ValueKind == JsonValueKind.Number, TimeSpan.FromMinutes(3), $"run {reftime} finalized");

    /// <summary>The oracle on a Zarr directory or on references whose URLs are rewritten to the local copies (no HTTP in fsspec here).</summary>
    private async Task<JsonNode> OracleAsync(string target, Uri baseUrl, string[] originals, string? concat = null)
    {
        if (target.EndsWith(".json", StringComparison.Ordinal))
        {
            var local = Path.Combine(_root, "oracle-" + Path.GetFileName(target));
            await File.WriteAllTextAsync(local, (await File.ReadAllTextAsync(target)).Replace(baseUrl.AbsoluteUri, Data + "/", StringComparison.Ordinal));
            target = local;
        }
        List<string> args = [Path.Combine(RunFixtures.RepositoryRoot(), "tests", "tools", "netcdf_oracle.py"), target, .. originals];
        if (concat is not null) args.AddRange(["--concat", concat]);
        var output = await RunFixtures.PythonAsync([.. args]);
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    [ServiceFact(Service.Python, Service.Mosquitto)]
    public async Task Should_turn_announced_NetCDF_files_into_a_run_combined_along_time_that_xarray_reads_as_netCDF4_reads_the_originals()
    {
        await using var server = await LocalFileServer.StartAsync(Data);
        var id = Guid.NewGuid().ToString("N")[..10];
        var (mqttHost, mqttPort) = TestServices.Mqtt;
        var received = new ConcurrentQueue<string>();
        using var mqtt = new MqttClientFactory().CreateMqttClient();
        mqtt.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        await mqtt.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mqttHost, mqttPort).WithClientId("sub-" + id).Build());
        await mqtt.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(WeatherTopic, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());

        await using var node = await Nodes.StartAsync(Settings($"mqtt://{mqttHost}:{mqttPort}", "pipeline-" + id));
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();
        async Task Announce(string relPath) =>
            Assert.True(await injector.InjectAsync(new InboundMessage("ofs-feed", "v03.test", Feeds.V03(server.BaseUrl, relPath, await File.ReadAllBytesAsync(Path.Combine(Data, relPath))))));

        foreach (var i in new[] { 2, 0, 1 }) await Announce($"ofs/20240101/00/roms.t00z.f00{i}.nc"); // out of order
        await Announce("ofs/20240102/00/roms.t00z.f000.nc"); // NetCDF-3 classic

        using var http = node.Client();
        var run = await FinalizedAsync(http, "2024-01-01T00Z");
        Assert.Equal(3, run.GetProperty("indexed").GetInt32());
        await FinalizedAsync(http, "2024-01-02T00Z");

        // Per file: a Zarr, references to the original URL, no .idx.
        var prefix = Path.Combine(Store, "test.ofs", "20240101T0000Z");
        var originals = Enumerable.Range(0, 3).Select(i => Path.Combine(Data, "ofs", "20240101", "00", $"roms.t00z.f00{i}.nc")).ToArray();
        for (var i = 0; i < 3; i++)
        {
            var name = $"roms.t00z.f00{i}.nc";
            Assert.True(File.Exists(Path.Combine(prefix, "files", name + ".zarr", ".zmetadata")), $"{name}: per-file Zarr");
            var refs = await File.ReadAllTextAsync(Path.Combine(prefix, "refs", name + ".json"));
            Assert.Contains(server.Url($"ofs/20240101/00/{name}").AbsoluteUri, refs);
            Assert.False(File.Exists(Path.Combine(prefix, "idx", name + ".idx")), "no .idx for NetCDF");
        }
        var one = await OracleAsync(Path.Combine(prefix, "files", "roms.t00z.f001.nc.zarr"), server.BaseUrl, [originals[1]]);
        Assert.True(one["ok"]!.GetValue<bool>(), one.ToJsonString());

        // The run: combined along ocean_time, as Zarr and as references; xarray reads what netCDF4 reads.
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json")))!;
        Assert.Equal("netcdf", manifest["format"]!.GetValue<string>());
        Assert.All(manifest["files"]!.AsArray(), f =>
        {
            Assert.Equal("netcdf4", f!["format"]!.GetValue<string>());
            Assert.Null(f["idx"]);
        });
        var zarr = await OracleAsync(Path.Combine(prefix, "run.zarr"), server.BaseUrl, originals, "ocean_time");
        Assert.True(zarr["ok"]!.GetValue<bool>(), zarr.ToJsonString());
        var combined = await OracleAsync(Path.Combine(prefix, "refs", "run.json"), server.BaseUrl, originals, "ocean_time");
        Assert.True(combined["ok"]!.GetValue<bool>(), combined.ToJsonString());
        Assert.Contains("temp", combined["checked"]!.AsArray().Select(x => x!.GetValue<string>()));

        // The NetCDF-3 run of one file.
        var classic = Path.Combine(Store, "test.ofs", "20240102T0000Z");
        var single = await OracleAsync(Path.Combine(classic, "run.zarr"), server.BaseUrl, [Path.Combine(Data, "ofs", "20240102", "00", "roms.t00z.f000.nc")]);
        Assert.True(single["ok"]!.GetValue<bool>(), single.ToJsonString());

        // Notifications: each file's links to its Zarr, and via the original with the NetCDF media type; valid WNM.
        // Only this dataset's: other specs publish on the same topic of the shared broker at the same time.
        var messages = await Eventually.HoldsAsync(() => Task.FromResult(received.Where(m => m.Contains("test.ofs", StringComparison.Ordinal)).ToArray()),
            m => m.Length >= 6, what: "4 file and 2 run notifications");
        foreach (var m in messages) Assert.Empty(WnmValidator.Validate(m, WeatherTopic));
        var files = messages.Select(m => JsonNode.Parse(m)!).Where(m => !m["properties"]!["data_id"]!.GetValue<string>().EndsWith("/run", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, files.Count);
        foreach (var f in files)
        {
            var links = f["links"]!.AsArray();
            Assert.Equal(Wis2Notifier.ZarrMediaType, links[0]!["type"]!.GetValue<string>());
            var via = links.Single(l => l!["rel"]!.GetValue<string>() == "via")!;
            var netcdf4 = via["href"]!.GetValue<string>().Contains("20240101", StringComparison.Ordinal);
            Assert.Equal(netcdf4 ? "application/x-netcdf4" : "application/netcdf", via["type"]!.GetValue<string>());
        }
        // ROMS files say where (lon_rho/lat_rho) and when (ocean_time): a polygon and the file's time.
        var roms = files.First(f => f["links"]!.AsArray().Any(l => l!["href"]!.GetValue<string>().EndsWith("roms.t00z.f001.nc", StringComparison.Ordinal)));
        Assert.Equal("Polygon", roms["geometry"]!["type"]!.GetValue<string>());
        Assert.Equal("2024-01-01T01:00:00Z", roms["properties"]!["datetime"]!.GetValue<string>());
        if (SharedData.Root is not null)
            await RunFixtures.ValidateAgainstSchemaAsync(messages, SharedData.Data("wis2", "wnm-schema.json"));
    }

    [ServiceFact(Service.Python)]
    public async Task Should_grow_the_run_references_as_each_file_arrives_before_the_run_is_complete()
    {
        await using var server = await LocalFileServer.StartAsync(Data);
        var settings = Settings(null, "pipeline-grow");
        settings["Pipeline:Datasets:0:Completeness:QuietPeriod"] = "01:00:00"; // the run stays open throughout
        await using var node = await Nodes.StartAsync(settings);
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();
        async Task Announce(int i)
        {
            var relPath = $"ofs/20240101/00/roms.t00z.f00{i}.nc";
            Assert.True(await injector.InjectAsync(new InboundMessage("ofs-feed", "v03.test", Feeds.V03(server.BaseUrl, relPath, await File.ReadAllBytesAsync(Path.Combine(Data, relPath))))));
        }
        string Original(int i) => Path.Combine(Data, "ofs", "20240101", "00", $"roms.t00z.f00{i}.nc");
        var refs = Path.Combine(Store, "test.ofs", "20240101T0000Z", "refs", "run.json");
        using var http = node.Client();
        Task<JsonElement> Run() => http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString("test.ofs/2024-01-01T00Z"));

        // Out of order: the last step first, then the first; the combined references hold both, in time order.
        await Announce(2);
        await Announce(0);
        await Eventually.HoldsAsync(Run, r => r.GetProperty("indexed").GetInt32() == 2, TimeSpan.FromMinutes(2), "two files indexed");
        var two = await OracleAsync(refs, server.BaseUrl, [Original(0), Original(2)], "ocean_time");
        Assert.True(two["ok"]!.GetValue<bool>(), two.ToJsonString());

        await Announce(1);
        await Eventually.HoldsAsync(Run, r => r.GetProperty("indexed").GetInt32() == 3, TimeSpan.FromMinutes(2), "three files indexed");
        var three = await OracleAsync(refs, server.BaseUrl, [Original(0), Original(1), Original(2)], "ocean_time");
        Assert.True(three["ok"]!.GetValue<bool>(), three.ToJsonString());
        Assert.Equal(JsonValueKind.Null, (await Run()).GetProperty("finalizedGeneration").ValueKind); // grown, not finalized
    }

    [ServiceFact(Service.Python)]
    public async Task Should_fail_a_truncated_NetCDF_file_for_good_and_leave_a_GRIB2_file_out_of_a_NetCDF_run_with_reasons()
    {
        await using var server = await LocalFileServer.StartAsync(Data);
        await using var node = await Nodes.StartAsync(Settings(null, "pipeline-bad"));
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();
        async Task Announce(string relPath) =>
            Assert.True(await injector.InjectAsync(new InboundMessage("ofs-feed", "v03.test", Feeds.V03(server.BaseUrl, relPath, await File.ReadAllBytesAsync(Path.Combine(Data, relPath))))));
        await Announce("ofs/20240103/00/roms.t00z.f000.nc");
        foreach (var relPath in new[] { "roms.t00z.f000.grib2", "roms.t00z.f001.nc", "roms.t00z.f002.nc" }) await Announce("ofs/20240104/00/" + relPath);

        using var http = node.Client();
        var truncated = await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString("test.ofs/2024-01-03T00Z")),
            r => r.GetProperty("failed").GetInt32() == 1, TimeSpan.FromMinutes(2), "the truncated file failed");
        var reason = Assert.Single(truncated.GetProperty("files").EnumerateArray()).GetProperty("failureReason").GetString()!;
        Assert.Contains(server.Url("ofs/20240103/00/roms.t00z.f000.nc").AbsoluteUri, reason);
        Assert.Contains("truncated", reason);
        Assert.False(Directory.Exists(Path.Combine(Store, "test.ofs", "20240103T0000Z", "files")), "nothing written for a truncated file");

        // Two NetCDF files and one GRIB2 file: the run is NetCDF, the GRIB2 file keeps its own products and is left out of the run's.
        await FinalizedAsync(http, "2024-01-04T00Z");
        var prefix = Path.Combine(Store, "test.ofs", "20240104T0000Z");
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(prefix, "manifest.json")))!;
        Assert.Equal("netcdf", manifest["format"]!.GetValue<string>());
        var problem = Assert.Single(manifest["problems"]!.AsArray(), p => p!.GetValue<string>().Contains("left out", StringComparison.Ordinal))!.GetValue<string>();
        Assert.Contains("roms.t00z.f000.grib2", problem);
        Assert.Contains("it is grib2", problem);
        Assert.True(File.Exists(Path.Combine(prefix, "idx", "roms.t00z.f000.grib2.idx")), "the GRIB2 file was indexed as GRIB2");
        var originals = new[] { 1, 2 }.Select(i => Path.Combine(Data, "ofs", "20240104", "00", $"roms.t00z.f00{i}.nc")).ToArray();
        var zarr = await OracleAsync(Path.Combine(prefix, "run.zarr"), server.BaseUrl, originals, "ocean_time");
        Assert.True(zarr["ok"]!.GetValue<bool>(), zarr.ToJsonString());
    }
}

internal static class PathExtensions
{
    /// <summary>The path, after <paramref name="action"/> ran on its directory (creates parent folders inline).</summary>
    public static string Also(this string path, Func<string, DirectoryInfo> action)
    {
        action(Path.GetDirectoryName(path)!);
        return path;
    }
}
