using System.Text.Json.Nodes;
using Pipeline.Testing;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Runs;
using Pipeline.Zarr.Storage;
using Pipeline.Zarr.Tests.Runs;
using Pipeline.Zarr.Tests.Support;
using Xunit;

namespace Pipeline.Zarr.Tests.Interop;

/// <summary>What we write opens in the tools scientists use: Debian's xarray + zarr 2.13 (+ fsspec for references).</summary>
public sealed class XarrayInteropSpecs : IDisposable
{
    private readonly TempDirectory _dir = new("interop");

    public void Dispose() => _dir.Dispose();

    internal const string DescribeScript = """
        import json, sys
        import numpy as np
        import xarray as xr

        def describe(ds):
            out = {"dims": {k: int(v) for k, v in ds.sizes.items()}, "vars": {}, "coords": {}, "attrs": {k: str(v) for k, v in ds.attrs.items()}}
            for name, v in ds.data_vars.items():
                vals = v.values.astype("float64").ravel()
                out["vars"][name] = {"dims": list(v.dims), "dtype": str(v.dtype), "units": str(v.attrs.get("units")),
                                     "values": [None if np.isnan(x) else float(x) for x in vals]}
            for name, c in ds.coords.items():
                vals = c.values
                if np.issubdtype(vals.dtype, np.datetime64):
                    vals = (vals.astype("datetime64[s]").astype("int64")).astype("float64")
                elif np.issubdtype(vals.dtype, np.timedelta64):
                    vals = vals / np.timedelta64(1, "h")
                out["coords"][name] = {"dims": list(c.dims), "values": [float(x) for x in np.asarray(vals).ravel()]}
            return out

        mode, target = sys.argv[1], sys.argv[2]
        if mode == "zarr":
            ds = xr.open_zarr(target, consolidated=True)
        else:
            ds = xr.open_dataset("reference://", engine="zarr",
                                 backend_kwargs={"consolidated": False, "storage_options": {"fo": target, "remote_protocol": "file"}})
        print(json.dumps(describe(ds.load())))
        """;

    public static TheoryData<string, int> Codecs => new() { { "zstd", 0 }, { "zlib", 0 }, { "gzip", 4 }, { "none", 0 }, { "zstd:9", 4 } };

    [ServiceTheory(Service.Python)]
    [MemberData(nameof(Codecs))]
    public async Task Should_open_with_xarray_and_read_back_our_values_when_written_as_a_consolidated_v2_run(string compressor, int shuffle)
    {
        var root = _dir.Sub("run-" + compressor.Replace(':', '_'));
        var store = new LocalDirectoryStore(root);
        var run = new RunDataset(new ZarrWriter(store), SampleRun.Layout(CodecPipeline.Parse(compressor, shuffle)));
        var state = RunState.Empty;
        // Step 9 never arrives: a hole that must read as NaN.
        foreach (var step in SampleRun.Steps.Where(s => s != 9).Reverse())
            foreach (var v in new[] { "t2m", "tp" })
                state = state.Apply(run.Layout, await run.WriteFieldAsync(v, [SampleRun.RefTime, step], SampleRun.Values(v, step)));
        await run.CommitMetadataAsync(state);

        var result = await PythonRunner.RunJsonAsync(DescribeScript, "zarr", root);
        AssertSampleRun(result, missingStep: 9);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_open_through_fsspec_reference_and_read_the_original_bytes_when_given_our_kerchunk_json()
    {
        var root = _dir.Sub("refsrc");
        var store = new LocalDirectoryStore(root);
        var run = new RunDataset(new ZarrWriter(store), SampleRun.Layout(CodecPipeline.Parse("zstd")));
        var state = RunState.Empty;
        // fsspec 2022.11 raises KeyError for a missing chunk reference (newer versions read fill): no holes here.
        foreach (var step in SampleRun.Steps)
            foreach (var v in new[] { "t2m", "tp" })
                state = state.Apply(run.Layout, await run.WriteFieldAsync(v, [SampleRun.RefTime, step], SampleRun.Values(v, step)));
        await run.CommitMetadataAsync(state);

        // Pack every data chunk into one blob file and reference byte ranges of it; metadata and coordinates inline.
        var blob = _dir.Sub("chunks.bin");
        var refs = new ReferenceSet();
        refs.Templates["u"] = blob;
        await using (var output = File.Create(blob))
        {
            foreach (var o in await store.ListAllAsync(""))
            {
                if (o.Key == ".zmetadata") continue;
                var bytes = await store.GetAsync(o.Key);
                var name = o.Key[(o.Key.LastIndexOf('/') + 1)..];
                if (name.StartsWith('.') || o.Key.StartsWith("latitude/", StringComparison.Ordinal) || o.Key.StartsWith("longitude/", StringComparison.Ordinal))
                {
                    refs.Set(o.Key, name.StartsWith('.') ? KerchunkRef.Text(System.Text.Encoding.UTF8.GetString(bytes)) : KerchunkRef.Bytes(bytes));
                    continue;
                }
                refs.Set(o.Key, KerchunkRef.Range("{{u}}", output.Position, bytes.Length));
                await output.WriteAsync(bytes);
            }
        }
        var json = _dir.Sub("refs.json");
        await File.WriteAllBytesAsync(json, refs.ToJson());
        Assert.Contains("\"latitude/0\": \"base64:", await File.ReadAllTextAsync(json));

        var result = await PythonRunner.RunJsonAsync(DescribeScript, "refs", json);
        AssertSampleRun(result, missingStep: -1);
    }

    internal static void AssertSampleRun(JsonNode result, double missingStep)
    {
        var dims = result["dims"]!.AsObject();
        Assert.Equal(1, dims["time"]!.GetValue<int>());
        Assert.Equal(6, dims["step"]!.GetValue<int>());
        Assert.Equal(SampleRun.Ny, dims["latitude"]!.GetValue<int>());
        Assert.Equal(SampleRun.Nx, dims["longitude"]!.GetValue<int>());
        Assert.Equal("cwao", result["attrs"]!["GRIB_centre"]!.GetValue<string>());
        var steps = result["coords"]!["step"]!["values"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        Assert.Equal(SampleRun.Steps, steps);
        Assert.Equal([SampleRun.RefTime], result["coords"]!["time"]!["values"]!.AsArray().Select(x => x!.GetValue<double>()));
        var valid = result["coords"]!["valid_time"]!;
        Assert.Equal(["time", "step"], valid["dims"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal(SampleRun.RefTime + 15 * 3600, valid["values"]!.AsArray().Last()!.GetValue<double>());
        var lat = result["coords"]!["latitude"]!["values"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        Assert.Equal(50.0, lat[0]);
        Assert.Equal(49.0, lat[^1]);
        foreach (var name in new[] { "t2m", "tp" })
        {
            var v = result["vars"]![name]!;
            Assert.Equal(["time", "step", "latitude", "longitude"], v["dims"]!.AsArray().Select(x => x!.GetValue<string>()));
            Assert.Equal("float32", v["dtype"]!.GetValue<string>());
            var values = v["values"]!.AsArray();
            var perField = SampleRun.Ny * SampleRun.Nx;
            for (var s = 0; s < SampleRun.Steps.Length; s++)
            {
                var expected = SampleRun.Values(name, SampleRun.Steps[s]);
                for (var i = 0; i < perField; i++)
                {
                    var got = values[s * perField + i];
                    if (SampleRun.Steps[s] == missingStep || float.IsNaN(expected[i])) Assert.Null(got);
                    else Assert.Equal(expected[i], (float)got!.GetValue<double>());
                }
            }
        }
        Assert.Equal("K", result["vars"]!["t2m"]!["units"]!.GetValue<string>());
    }
}
