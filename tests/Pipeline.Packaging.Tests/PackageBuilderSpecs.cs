using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pipeline.Grib2;
using Pipeline.Packaging.Boundaries;
using Pipeline.Packaging.Processing;
using Pipeline.Testing;
using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.Packaging.Tests;

public sealed class PackageBuilderSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pipeline-package-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static PackageInput Input(string path) =>
        new(path, new Uri("https://example.org/data/" + Path.GetFileName(path)), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), new FileInfo(path).Length);

    [Fact]
    public async Task Should_copy_the_original_message_bytes_of_the_selected_fields_when_a_GRIB2_subset_is_asked()
    {
        if (SharedData.Root is null) return;
        var path = SharedData.Data("grib2", "real", "pygrib__gfs.t12z.pgrbf120.2p5deg.grib2");
        var store = new LocalDirectoryStore(_dir);
        var request = new PackageRequest("job-1-gfs", "gfs", "gfs/2026-11-24T12Z", null, new FieldSelection([], [], ":TMP:"), Clip: false, PackageFormat.Grib2);
        var result = await PackageBuilder.BuildAsync(request, [Input(path)], store, "packages/job-1/gfs");

        var source = GribFile.Read(path);
        var wanted = source.Where(m => Pipeline.Grib2.Indexing.Idx.Line(Pipeline.Grib2.Indexing.Inventory.Describe(m.Fields[0], 1)).Contains(":TMP:")).ToList();
        Assert.NotEmpty(wanted);
        Assert.True(wanted.Count < source.Count);
        var written = await File.ReadAllBytesAsync(Path.Combine(_dir, "packages", "job-1", "gfs", "grib2", Path.GetFileName(path)));
        Assert.Equal(wanted.SelectMany(m => m.Bytes.ToArray()).ToArray(), written);
        Assert.Equal(wanted.Count, result.Fields);

        var package = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_dir, result.DataPackageKey)))!;
        var grib = package["resources"]!.AsArray().Single(r => r!["format"]!.GetValue<string>() == "grib2" && r["path"]!.GetValue<string>().EndsWith(".grib2"))!;
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(written)), grib["hash"]!.GetValue<string>());
        Assert.Equal("application/x-grib2", grib["mediatype"]!.GetValue<string>());
    }

    [Fact]
    public async Task Should_refuse_naming_the_input_when_one_of_the_run_files_is_truncated()
    {
        if (SharedData.Root is null) return;
        var good = SharedData.Data("grib2", "real", "pygrib__gfs.t12z.pgrbf120.2p5deg.grib2");
        var bytes = await File.ReadAllBytesAsync(good);
        var cut = Path.Combine(_dir, "cut.grib2");
        await File.WriteAllBytesAsync(cut, bytes.AsSpan(0, bytes.Length - 1000).ToArray());
        var store = new LocalDirectoryStore(Path.Combine(_dir, "out"));
        var request = new PackageRequest("p", "gfs", "r", null, FieldSelection.All, false, PackageFormat.Grib2);

        var e = await Assert.ThrowsAsync<PackagingException>(() => PackageBuilder.BuildAsync(request, [Input(good), Input(cut)], store, "p"));

        Assert.Contains("https://example.org/data/cut.grib2 is not readable GRIB2", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "out", "p", "datapackage.json")));
    }

    [Fact]
    public async Task Should_refuse_with_a_reason_when_nothing_matches_or_the_boundary_misses_the_grid()
    {
        if (SharedData.Root is null) return;
        var path = SharedData.Data("grib2", "real", "gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2");
        var store = new LocalDirectoryStore(_dir);
        var nothing = new PackageRequest("p", "hrdps", "r", null, new FieldSelection(["nope"], []), false, PackageFormat.Zarr);
        var e = await Assert.ThrowsAsync<PackagingException>(() => PackageBuilder.BuildAsync(nothing, [Input(path)], store, "p"));
        Assert.Contains("matches the selection", e.Message);

        var paris = GeoJsonBoundaries.Parse("""{ "type": "Polygon", "coordinates": [[[2, 48], [3, 48], [3, 49], [2, 48]]] }""", "Paris").Single();
        var far = new PackageRequest("p", "hrdps", "r", paris, FieldSelection.All, true, PackageFormat.Zarr);
        e = await Assert.ThrowsAsync<PackagingException>(() => PackageBuilder.BuildAsync(far, [Input(path)], store, "p"));
        Assert.Contains("covers no grid point", e.Message);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_write_a_rotated_grid_package_that_xarray_opens_with_2d_coordinates_and_NaN_outside_the_polygon()
    {
        if (SharedData.Root is null) return;
        var path = SharedData.Data("grib2", "real", "gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2");
        var boundary = GeoJsonBoundaries.Parse("""{ "type": "Polygon", "coordinates": [[[-76, 45], [-73, 45], [-72, 47], [-75, 47.5], [-76, 45]]] }""", "Quebec South").Single();
        var store = new LocalDirectoryStore(_dir);
        var request = new PackageRequest("p-hrdps", "hrdps", "hrdps/2026-02-19T00Z", boundary, FieldSelection.All, true, PackageFormat.Zarr);
        var steps = new List<string>();
        var result = await PackageBuilder.BuildAsync(request, [Input(path)], store, "pkg", new Progress(steps));
        Assert.Contains("clip", steps);
        Assert.True(result.InsideCells > 0 && result.InsideCells < result.Cells);

        var output = PythonScript.Run("""
            import sys, numpy as np, xarray as xr, zarr
            store = sys.argv[1]
            g = list(zarr.open_group(store, mode="r").group_keys())[0]
            ds = xr.open_zarr(store, group=g, consolidated=True)
            v = ds[list(ds.data_vars)[0]]
            assert v.dims[-2:] == ("y", "x"), v.dims
            assert ds.latitude.dims == ("y", "x")
            inside = np.isfinite(v.values)
            print(int(inside.sum()), v.size, float(ds.latitude.values[inside].min()), float(ds.latitude.values[inside].max()))
            """, [Path.Combine(_dir, "pkg", "data.zarr")]).Trim().Split('\n')[^1].Split(' ');
        Assert.Equal(result.InsideCells, long.Parse(output[0]));
        Assert.Equal(result.Cells, long.Parse(output[1]));
        Assert.True(double.Parse(output[2], System.Globalization.CultureInfo.InvariantCulture) >= 44.9);
        Assert.True(double.Parse(output[3], System.Globalization.CultureInfo.InvariantCulture) <= 47.6);
    }

    private sealed class Progress(List<string> steps) : IProgress<PackageProgress>
    {
        public void Report(PackageProgress value)
        {
            lock (steps) steps.Add(value.Step);
        }
    }
}
