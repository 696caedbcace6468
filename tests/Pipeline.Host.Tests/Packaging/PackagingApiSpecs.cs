using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Packaging;

/// <summary>
/// One real node over HTTP ingests a fixture run (ecCodes-made GRIB2, served by a local HTTP server), then packages
/// it for boundaries: the package opens in xarray with the source's values inside the polygon and NaN outside, its
/// datapackage.json lists every file with the right size and hash; a duplicate submission is the same job; a job
/// waiting for an input is cancelled; bad input is a 400 naming why.
/// </summary>
public sealed class PackagingApiSpecs(PackagingNodeFixture fixture) : IClassFixture<PackagingNodeFixture>
{
    public const string Area = """
        { "type": "FeatureCollection", "features": [
          { "type": "Feature", "properties": { "name": "West Africa Europe" }, "geometry": { "type": "Polygon",
            "coordinates": [[[-25, -15], [35, -15], [45, 25], [5, 55], [-30, 35], [-25, -15]]] } },
          { "type": "Feature", "properties": { "name": "Tiny" }, "geometry": { "type": "Polygon",
            "coordinates": [[[3, 3], [7, 3], [7, 7], [3, 7], [3, 3]]] } } ] }
        """;

    [ServiceFact(Service.Python)]
    public async Task Should_build_a_package_that_xarray_reads_with_source_values_inside_and_NaN_outside_and_answer_a_duplicate_with_the_same_job()
    {
        var http = await fixture.ReadyAsync();
        await fixture.BoundariesAsync(http);

        var job = new { dataset = PackagingNodeFixture.Dataset, run = "2026-11-24T00Z", boundary = "West Africa Europe", variables = new[] { "2t", "t" } };
        var first = await http.PostAsJsonAsync("/api/jobs", job);
        Assert.True(first.StatusCode == HttpStatusCode.Created, await first.Content.ReadAsStringAsync());
        var id = (await first.Content.ReadFromJsonAsync<JsonNode>())!["jobId"]!.GetValue<string>();
        var again = await http.PostAsJsonAsync("/api/jobs", new { dataset = PackagingNodeFixture.Dataset, run = "2026-11-24T00Z", boundary = "West Africa Europe", variables = new[] { "t", "2t", "t" } });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(id, (await again.Content.ReadFromJsonAsync<JsonNode>())!["jobId"]!.GetValue<string>());

        var done = await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonNode>("/api/jobs/" + id), j => j!["status"]!.GetValue<string>() is "Succeeded" or "Failed",
            TimeSpan.FromMinutes(3), "the job finished");
        Assert.True(done!["status"]!.GetValue<string>() == "Succeeded", done.ToJsonString());
        Assert.Equal(1, done["completions"]!.GetValue<int>());
        var package = done["packages"]!.AsArray().Single()!;
        var listed = await http.GetFromJsonAsync<JsonNode>("/api/jobs?status=succeeded");
        Assert.Contains(listed!["jobs"]!.AsArray(), j => j!["jobId"]!.GetValue<string>() == id);

        // datapackage.json: the required fields, and every resource's size and hash match the file.
        var root = Path.Combine(fixture.NodeStore, package["prefix"]!.GetValue<string>());
        var datapackage = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "datapackage.json")))!;
        Assert.Matches("^[-a-z0-9._/]+$", datapackage["name"]!.GetValue<string>());
        Assert.NotEmpty(datapackage["licenses"]!.AsArray());
        Assert.NotEmpty(datapackage["sources"]!.AsArray());
        var resources = datapackage["resources"]!.AsArray();
        Assert.Contains(resources, r => r!["path"]!.GetValue<string>() == "provenance.json");
        foreach (var r in resources)
        {
            var path = Path.Combine(root, r!["path"]!.GetValue<string>());
            Assert.True(File.Exists(path), path);
            var bytes = await File.ReadAllBytesAsync(path);
            Assert.Equal(r["bytes"]!.GetValue<long>(), bytes.LongLength);
            Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), r["hash"]!.GetValue<string>());
            Assert.Matches("^[-a-z0-9._/]+$", r["name"]!.GetValue<string>());
        }
        // The Data Package (v1) schema's rules for what we write, checked by python3-jsonschema.
        Assert.Equal("ok", PythonScript.Run("""
            import json, sys, jsonschema
            name = {"type": "string", "pattern": "^([-a-z0-9._/])+$"}
            schema = {
              "type": "object", "required": ["resources"],
              "properties": {
                "name": name, "id": {"type": "string"}, "profile": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
                "licenses": {"type": "array", "minItems": 1, "items": {"type": "object", "anyOf": [{"required": ["name"]}, {"required": ["path"]}],
                  "properties": {"name": {"type": "string", "pattern": "^([-a-zA-Z0-9._])+$"}, "path": {"type": "string"}, "title": {"type": "string"}}}},
                "sources": {"type": "array", "items": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}, "path": {"type": "string"}}}},
                "resources": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["name", "path"], "properties": {
                  "name": name, "path": {"type": "string"}, "bytes": {"type": "integer"}, "mediatype": {"type": "string", "pattern": "^(.+)/(.+)$"},
                  "hash": {"type": "string", "pattern": "^([^:]+:[a-fA-F0-9]+|[a-fA-F0-9]{32}|)$"}}}}}}
            package = json.load(open(sys.argv[1]))
            jsonschema.validate(package, schema, format_checker=jsonschema.FormatChecker())
            assert len({r["name"] for r in package["resources"]}) == len(package["resources"]), "resource names are unique"
            print("ok")
            """, [Path.Combine(root, "datapackage.json")]).Trim());
        var provenance = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "provenance.json")))!;
        Assert.Equal(4, provenance["inputs"]!.AsArray().Count);
        Assert.All(provenance["inputs"]!.AsArray(), i => Assert.Equal(64, i!["sha256"]!.GetValue<string>().Length));

        // The oracle: xarray opens each group; inside the polygon (our own ray casting in Python) every value is what
        // ecCodes decodes from the source file, outside it is NaN.
        var check = PythonScript.Run("""
            import json, sys, tempfile, numpy as np, xarray as xr, zarr
            store, manifest = sys.argv[1], json.load(open(sys.argv[2]))
            ring = [(-25, -15), (35, -15), (45, 25), (5, 55), (-30, 35), (-25, -15)]
            def inside(x, y):
                odd = False
                for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
                    if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1: odd = not odd
                return odd
            ni, nj = manifest["ni"], manifest["nj"]
            checked = inside_n = outside_n = 0
            for g in zarr.open_group(store, mode="r").group_keys():
                ds = xr.open_zarr(store, group=g, consolidated=True)
                ds.load().to_netcdf(tempfile.mktemp(suffix=".nc"))  # NetCDF-friendly: CF names, dims and attributes
                for f in manifest["files"]:
                    for m in f["messages"]:
                        for name, v in ds.data_vars.items():
                            if v.attrs["GRIB_shortName"] != m["shortName"] or v.attrs["GRIB_typeOfLevel"] != m["typeOfLevel"]: continue
                            sel = {"step": np.timedelta64(m["step"], "h")}
                            if m["typeOfLevel"] in v.dims: sel[m["typeOfLevel"]] = m["level"]
                            elif m["typeOfLevel"] in ds.coords and float(ds.coords[m["typeOfLevel"]]) != m["level"]: continue
                            got = v.sel(**sel)
                            src = np.array(m["values"]).reshape(nj, ni)
                            for a, lat in enumerate(ds.latitude.values):
                                for b, lon in enumerate(ds.longitude.values):
                                    j = int(round((90 - lat) / (180 / (nj - 1)))); i = int(round((lon % 360) / (360 / ni)))
                                    value = float(got.values[a, b])
                                    if inside(lon, lat):
                                        assert abs(value - src[j, i]) < 1e-3, (name, m["step"], lat, lon, value, src[j, i]); inside_n += 1
                                    else:
                                        assert np.isnan(value), (name, lat, lon, value); outside_n += 1
                            checked += 1
            print(checked, inside_n, outside_n)
            """, [Path.Combine(root, "data.zarr"), fixture.FixtureManifest]).Trim().Split('\n')[^1].Split(' ').Select(int.Parse).ToArray();
        Assert.Equal(4 * 3, check[0]); // 2t and t at two levels, four steps
        Assert.True(check[1] > 0 && check[2] > 0, $"inside {check[1]}, outside {check[2]}");
    }

    [ServiceFact(Service.Python)]
    public async Task Should_answer_400_naming_the_reason_when_the_input_is_bad()
    {
        var http = await fixture.ReadyAsync();
        await fixture.BoundariesAsync(http);

        async Task<string> BadBoundary(string body, string query = "")
        {
            var r = await http.PostAsync("/api/boundaries" + query, new StringContent(body, Encoding.UTF8, "application/geo+json"));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, text);
            return text;
        }
        Assert.Contains("not valid JSON", await BadBoundary("{ \"type\": \"Polygon\", "));
        Assert.Contains("self-intersection", await BadBoundary("""{ "type": "Polygon", "coordinates": [[[0,0],[10,10],[10,0],[0,10],[0,0]]] }""", "?name=Bowtie"));
        Assert.Contains("empty", await BadBoundary("""{ "type": "FeatureCollection", "features": [] }"""));
        Assert.Contains("empty", await BadBoundary("""{ "type": "Polygon", "coordinates": [] }""", "?name=Nothing"));
        Assert.Contains("not closed", await BadBoundary("""{ "type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10]]] }""", "?name=Open"));
        Assert.Contains("latitude 95", await BadBoundary("""{ "type": "Polygon", "coordinates": [[[0,0],[10,0],[10,95],[0,0]]] }""", "?name=Far"));

        async Task<string> BadJob(object body)
        {
            var r = await http.PostAsJsonAsync("/api/jobs", body);
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, text);
            return text;
        }
        Assert.Contains("unknown dataset 'nope'", await BadJob(new { dataset = "nope", boundary = "Tiny" }));
        Assert.Contains("no boundary 'Atlantis'", await BadJob(new { dataset = PackagingNodeFixture.Dataset, boundary = "Atlantis" }));
        Assert.Contains("covers no grid point", await BadJob(new { dataset = PackagingNodeFixture.Dataset, run = "latest", boundary = "Tiny" }));
        Assert.Contains("not finalized", await BadJob(new { dataset = PackagingNodeFixture.Dataset, run = "2020-01-01T00Z", boundary = "West Africa Europe" }));
        Assert.Contains("cannot be clipped", await BadJob(new { dataset = PackagingNodeFixture.Dataset, boundary = "West Africa Europe", format = "grib2", clip = true }));
        Assert.Contains("match", await BadJob(new { dataset = PackagingNodeFixture.Dataset, boundary = "West Africa Europe", match = "([" }));
        var unknown = await http.GetAsync("/api/jobs/pkg-00000000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_cancel_a_job_that_waits_for_an_input_and_never_complete_it()
    {
        var http = await fixture.ReadyAsync();
        await fixture.BoundariesAsync(http);
        var held = PackagingNodeFixture.Rel(18);
        fixture.Server.Hold(held);
        // Another spec may have fetched the run's inputs already: forget the node's local copies.
        foreach (var f in Directory.EnumerateFiles(fixture.InputCache)) File.Delete(f);
        try
        {
            var r = await http.PostAsJsonAsync("/api/jobs", new { dataset = PackagingNodeFixture.Dataset, run = "latest", boundary = "West Africa Europe", variables = new[] { "prmsl" } });
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            var id = (await r.Content.ReadFromJsonAsync<JsonNode>())!["jobId"]!.GetValue<string>();
            await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonNode>("/api/jobs/" + id),
                j => j!["steps"]!.AsArray().Any(s => s!["detail"]?.GetValue<string>()?.StartsWith("waiting") == true), TimeSpan.FromMinutes(2), "the job waiting for the held input");
            var cancel = await http.PostAsync($"/api/jobs/{id}/cancel?reason=test", null);
            Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
            fixture.Server.Publish(held);
            var view = await http.GetFromJsonAsync<JsonNode>("/api/jobs/" + id);
            Assert.Equal("Cancelled", view!["status"]!.GetValue<string>());
            // The runner stops: a cancelled job is not run to its end, and cancelling again is a conflict.
            var twice = await http.PostAsync($"/api/jobs/{id}/cancel", null);
            Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
            var cancelled = await http.GetFromJsonAsync<JsonNode>("/api/jobs?status=cancelled");
            Assert.Contains(cancelled!["jobs"]!.AsArray(), j => j!["jobId"]!.GetValue<string>() == id);
            var after = await http.GetFromJsonAsync<JsonNode>("/api/jobs/" + id);
            Assert.Equal(0, after!["completions"]!.GetValue<int>());
            Assert.Empty(after["packages"]!.AsArray());
        }
        finally
        {
            fixture.Server.Publish(held);
        }
    }
}

/// <summary>A node with a finalized fixture run of <see cref="Dataset"/>, shared by the packaging specs.</summary>
public sealed class PackagingNodeFixture : IAsyncLifetime
{
    public const string Dataset = "pkg.model";
    public static readonly int[] Steps = [0, 6, 12, 18];
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-packaging-").FullName;
    private TestNode? _node;
    private HttpClient? _http;
    private bool _boundaries;

    public LocalFileServer Server { get; private set; } = null!;

    public string Served => Path.Combine(_root, "served");

    public string FixtureManifest => Path.Combine(Served, "m", "20261124", "00", "manifest.json");

    public string NodeStore => Path.Combine(_node!.DataDirectory, "store");

    public string InputCache => Path.Combine(_node!.DataDirectory, "packaging", "inputs");

    public static string Rel(int step) => $"m/20261124/00/model.t00z.f{step:000}.grib2";

    public async Task InitializeAsync()
    {
        if (TestServices.SkipReason([Service.Python]) is not null) return;
        await RunFixtures.RunAsync(Path.Combine(Served, "m", "20261124", "00"), "20261124", 0, Steps);
        Server = await LocalFileServer.StartAsync(Served);
        _node = await Nodes.StartAsync(new Dictionary<string, string?>
        {
            ["Pipeline:Datasets:0:Id"] = Dataset,
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = Steps.Length.ToString(),
            ["Pipeline:Packaging:InputRetryDelay"] = "00:00:00.200",
        });
        _http = _node.Client(TestNode.Token);
        foreach (var step in Steps)
        {
            var r = await _http.PostAsJsonAsync("/api/announcements", new { url = Server.Url(Rel(step)).AbsoluteUri });
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        }
        await Eventually.HoldsAsync(() => _http.GetFromJsonAsync<JsonNode>("/api/runs/" + Uri.EscapeDataString(Dataset + "/2026-11-24T00Z")),
            r => r?["finalizedGeneration"]?.GetValueKind() == JsonValueKind.Number, TimeSpan.FromMinutes(3), "the fixture run finalized");
    }

    public Task<HttpClient> ReadyAsync() => Task.FromResult(_http ?? throw new InvalidOperationException("the fixture did not start (Python missing?)"));

    public async Task BoundariesAsync(HttpClient http)
    {
        if (_boundaries) return;
        var r = await http.PostAsync("/api/boundaries", new StringContent(PackagingApiSpecs.Area, Encoding.UTF8, "application/geo+json"));
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        var list = await http.GetFromJsonAsync<JsonNode>("/api/boundaries");
        Assert.Equal(2, list!["boundaries"]!.AsArray().Count);
        var one = await http.GetFromJsonAsync<JsonNode>("/api/boundaries/" + Uri.EscapeDataString("West Africa Europe"));
        Assert.Equal("Polygon", one!["geometry"]!["type"]!.GetValue<string>());
        _boundaries = true;
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_node is not null) await _node.DisposeAsync();
        if (Server is not null) await Server.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
