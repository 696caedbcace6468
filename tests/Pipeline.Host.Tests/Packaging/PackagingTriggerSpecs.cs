using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Packaging;

/// <summary>Packages configured on a dataset (<c>Pipeline:Datasets:N:Packages</c>) are built when a run is finalized, once per generation.</summary>
public sealed class PackagingTriggerSpecs
{
    [Fact]
    public void Should_stop_the_node_at_start_naming_the_key_when_a_configured_package_is_invalid()
    {
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => PipelineHost.Build([], overrides: new Dictionary<string, string?>
        {
            ["Pipeline:Datasets:0:Id"] = "pkg.bad",
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/x\.grib2$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "1",
            ["Pipeline:Datasets:0:Packages:0:Format"] = "netcdf",
            ["Pipeline:Packaging:Parallelism"] = "0",
        }));
        Assert.Contains("Pipeline:Datasets:0:Packages:0:Format must be zarr or grib2", e.Message);
        Assert.Contains("Pipeline:Datasets:0:Packages:0:Boundary is required", e.Message);
        Assert.Contains("Pipeline:Packaging:Parallelism must be 1..64", e.Message);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_build_the_configured_package_when_a_run_of_the_dataset_is_finalized()
    {
        var root = Directory.CreateTempSubdirectory("pipeline-pkgtrigger-").FullName;
        try
        {
            var served = Path.Combine(root, "served");
            await RunFixtures.RunAsync(Path.Combine(served, "m", "20261124", "00"), "20261124", 0, [0, 6]);
            await using var server = await LocalFileServer.StartAsync(served);
            await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
            {
                ["Pipeline:Datasets:0:Id"] = "pkg.trigger",
                ["Pipeline:Datasets:0:PathPatterns:0"] = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
                ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "2",
                ["Pipeline:Datasets:0:Packages:0:Boundary"] = "West Africa Europe",
                ["Pipeline:Datasets:0:Packages:0:Variables:0"] = "2t",
            });
            using var http = node.Client(TestNode.Token);
            var b = await http.PostAsync("/api/boundaries", new StringContent(PackagingApiSpecs.Area, Encoding.UTF8, "application/geo+json"));
            Assert.True(b.IsSuccessStatusCode, await b.Content.ReadAsStringAsync());
            foreach (var step in new[] { 0, 6 })
            {
                var r = await http.PostAsJsonAsync("/api/announcements", new { url = server.Url($"m/20261124/00/model.t00z.f{step:000}.grib2").AbsoluteUri });
                Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            }

            var jobs = await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonNode>("/api/jobs?status=succeeded"),
                j => j!["jobs"]!.AsArray().Count > 0, TimeSpan.FromMinutes(3), "the triggered package built");
            var job = jobs!["jobs"]!.AsArray().Single()!;
            Assert.Equal("ingest:pkg.trigger/2026-11-24T00Z#0", job["spec"]!["trigger"]!.GetValue<string>());
            Assert.Equal(["2t"], job["spec"]!["variables"]!.AsArray().Select(v => v!.GetValue<string>()));
            var package = job["packages"]!.AsArray().Single()!;
            Assert.True(File.Exists(Path.Combine(node.DataDirectory, "store", package["dataPackage"]!.GetValue<string>())));
            Assert.Equal(2, package["fields"]!.GetValue<int>());
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
