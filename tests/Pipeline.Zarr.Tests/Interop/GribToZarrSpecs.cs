using System.Text.Json.Nodes;
using Pipeline.Testing;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;
using Pipeline.Zarr.Tests.Support;
using Xunit;

namespace Pipeline.Zarr.Tests.Interop;

public sealed class GribToZarrSpecs : IDisposable
{
    private readonly TempDirectory _dir = new("grib");

    public void Dispose() => _dir.Dispose();

    private static string Real(string name) => SharedData.Data("grib2", "real", name);

    [SharedDataTheory(Service.Python)]
    [InlineData("gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2")]
    [InlineData("gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2")]
    [InlineData("gribberish__ecmwf-ifs-oper-surface.grib2")]
    [InlineData("pygrib__reduced_latlon_surface.grib2")]
    [InlineData("gribberish__aqm.t12z.ave_1hr_o3-AK-polar-stereographic.grib2")]
    [InlineData("gribberish__aqm.t12z.ave_1hr_o3-HI-mercator.grib2")] // mercator: cfgrib gives a 'values' dim
    [InlineData("gribrs__ds.critfireo.bin")] // NDFD Lambert, alternate row scanning: cfgrib reverses odd rows
    [InlineData("gribrs__icon_global_icosahedral_single-level_2021112018_000_TOT_PREC.grib2")] // unstructured: no coordinates
    public async Task Should_match_cfgrib_names_dims_coordinates_and_values_when_converting_a_real_file(string file)
    {
        var root = _dir.Sub("store");
        var summary = await GribToZarr.ConvertAsync([Real(file)], new LocalDirectoryStore(root), new ConversionOptions());
        Assert.True(summary.Fields > 0);
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "compare_cfgrib.py");
        var report = await PythonRunner.RunJsonAsync(await File.ReadAllTextAsync(script), Real(file), root);
        var variables = report["variables"]!.AsArray();
        Assert.NotEmpty(variables);
        foreach (var v in variables)
        {
            var name = v!["name"]!.GetValue<string>();
            Assert.True(v["found"]!.GetValue<bool>(), $"{file}: cfgrib's '{name}' {v["cfgrib_dims"]!.ToJsonString()} not found with the same dims: {v.ToJsonString()}");
            Assert.Equal(0, v["nan_mismatch"]!.GetValue<int>());
            Assert.True(v["max_diff"]!.GetValue<double>() <= 1e-6 * Math.Max(1, v["scale"]!.GetValue<double>()), $"{file}: '{name}' values differ: {v.ToJsonString()}");
            Assert.True(v["coords_ok"]!.GetValue<bool>(), $"{file}: '{name}' latitude/longitude differ");
            Assert.True(v["units_ok"]!.GetValue<bool>(), $"{file}: '{name}' units differ");
            Assert.Equal(v["cfgrib_coords"]!.ToJsonString(), v["our_coords"]!.ToJsonString());
        }
    }

    [SharedDataFact]
    public async Task Should_write_identical_stores_when_converting_twice_and_files_in_another_order()
    {
        string[] files = [Real("gribberish__ecmwf-ifs-oper-surface.grib2"), Real("gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2")];
        var a = new LocalDirectoryStore(_dir.Sub("a"));
        var b = new LocalDirectoryStore(_dir.Sub("b"));
        await GribToZarr.ConvertAsync(files, a, new ConversionOptions { References = true });
        await GribToZarr.ConvertAsync([.. files.Reverse()], b, new ConversionOptions { References = true, Parallelism = 1 });
        await GribToZarr.ConvertAsync(files, b, new ConversionOptions { References = true });
        var keys = (await a.ListAllAsync("")).Select(o => o.Key).ToList();
        Assert.Equal(keys, (await b.ListAllAsync("")).Select(o => o.Key));
        foreach (var k in keys) Assert.Equal(await a.GetAsync(k), await b.GetAsync(k));
        Assert.Contains("refs/gribberish__ecmwf-ifs-oper-surface.grib2.idx", keys);
        Assert.Contains(keys, k => k.StartsWith("refs/", StringComparison.Ordinal) && k.EndsWith(".scan.json", StringComparison.Ordinal));
    }

    [SharedDataFact]
    public async Task Should_write_scan_grib_shaped_references_pointing_at_each_message()
    {
        var file = Real("gribberish__ecmwf-ifs-oper-surface.grib2");
        var store = new LocalDirectoryStore(_dir.Sub("refs"));
        await GribToZarr.ConvertAsync([file], store, new ConversionOptions { References = true });
        var scan = JsonNode.Parse(await store.GetAsync("refs/gribberish__ecmwf-ifs-oper-surface.grib2.scan.json"))!.AsArray();
        var messages = Pipeline.Grib2.GribFile.Read(file);
        Assert.Equal(messages.Sum(m => m.Fields.Count), scan.Count);
        foreach (var item in scan)
        {
            var set = ReferenceSet.Parse(System.Text.Encoding.UTF8.GetBytes(item!.ToJsonString()));
            Assert.Equal(".zgroup", set.Keys[0]);
            Assert.Equal(".zattrs", set.Keys[1]);
            var variable = set.Keys.Single(k => k.EndsWith("/.zarray", StringComparison.Ordinal) && set[k].InlineText.Contains("\"grib\""))[..^"/.zarray".Length];
            var chunk = set.Keys.Single(k => k.StartsWith(variable + "/", StringComparison.Ordinal) && !k.Contains("/."));
            var r = set[chunk];
            Assert.Contains(messages, m => m.Offset == r.Offset && m.Length == r.Length);
            Assert.Equal(Path.GetFullPath(file), set.ResolveUrl(r.Url!));
            Assert.True(set.Contains("latitude/.zarray") && set.Contains("step/0") && set.Contains("valid_time/0"));
        }
        var idx = System.Text.Encoding.UTF8.GetString(await store.GetAsync("refs/gribberish__ecmwf-ifs-oper-surface.grib2.idx"));
        Assert.Equal(messages.Count, idx.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [SharedDataFact(Service.Python)]
    public async Task Should_read_the_original_grib_bytes_through_our_combined_references()
    {
        var file = Real("gribberish__ecmwf-ifs-oper-surface.grib2");
        var store = new LocalDirectoryStore(_dir.Sub("combined"));
        var summary = await GribToZarr.ConvertAsync([file], store, new ConversionOptions { References = true });
        var group = summary.GroupNames[0];
        var json = Path.Combine(store.Root, "refs", group + ".json");
        // The numcodecs "grib" filter (kerchunk's GRIBCodec) is not installed here: register an ecCodes-based one.
        const string script = """
            import json, sys
            import numpy as np, numcodecs, eccodes, xarray as xr
            from numcodecs.abc import Codec
            class GribCodec(Codec):
                codec_id = "grib"
                def __init__(self, var, dtype=None):
                    self.var, self.dtype = var, dtype
                def encode(self, buf):
                    raise NotImplementedError
                def decode(self, buf, out=None):
                    h = eccodes.codes_new_from_message(bytes(buf))
                    try:
                        v = eccodes.codes_get_array(h, "values").astype(self.dtype or "float64")
                        if eccodes.codes_get(h, "bitmapPresent"):
                            v[v == eccodes.codes_get(h, "missingValue")] = np.nan
                    finally:
                        eccodes.codes_release(h)
                    return v if out is None else np.copyto(out, v.reshape(out.shape)) or out
            numcodecs.register_codec(GribCodec)
            refs, zstore, group = sys.argv[1:4]
            a = xr.open_dataset("reference://", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": {"fo": refs, "remote_protocol": "file"}})
            b = xr.open_zarr(zstore, group=group, consolidated=True)
            out = {}
            for v in b.data_vars:
                x = np.asarray(a[v].values, dtype="float64").ravel()
                y = np.asarray(b[v].values, dtype="float64").ravel()
                both = ~np.isnan(x) & ~np.isnan(y)
                out[v] = {"n": int(x.size), "m": int(y.size), "nan_mismatch": int(np.sum(np.isnan(x) != np.isnan(y))),
                          "max_rel": float(np.max(np.abs(x[both] - y[both]) / np.maximum(1, np.abs(x[both])))) if both.any() else 0.0}
            print(json.dumps(out))
            """;
        var result = (await PythonRunner.RunJsonAsync(script, json, store.Root, group)).AsObject();
        Assert.NotEmpty(result);
        foreach (var (name, r) in result)
        {
            Assert.Equal(r!["n"]!.GetValue<int>(), r["m"]!.GetValue<int>());
            Assert.Equal(0, r["nan_mismatch"]!.GetValue<int>());
            Assert.True(r["max_rel"]!.GetValue<double>() < 1e-6, $"{name}: {r.ToJsonString()}");
        }
    }

    [SharedDataFact]
    public async Task Should_fail_naming_the_key_and_complete_identically_on_retry_when_the_store_fails_mid_conversion()
    {
        string[] files = [Real("gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"), Real("gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2")];
        var clean = new LocalDirectoryStore(_dir.Sub("clean"));
        await GribToZarr.ConvertAsync(files, clean, new ConversionOptions { References = true });

        var target = new LocalDirectoryStore(_dir.Sub("retried"));
        var flaky = new FailingStore(target, failOnPut: 7);
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => GribToZarr.ConvertAsync(files, flaky, new ConversionOptions { References = true }));
        Assert.Equal(flaky.FailedKey, e.Key);
        Assert.Contains(flaky.FailedKey!, e.Message);
        Assert.Null(await target.HeadAsync(flaky.FailedKey!));
        Assert.DoesNotContain(Directory.EnumerateFiles(target.Root, "*", SearchOption.AllDirectories), f => Path.GetFileName(f).StartsWith(".~", StringComparison.Ordinal));

        await GribToZarr.ConvertAsync(files, target, new ConversionOptions { References = true });
        var keys = (await clean.ListAllAsync("")).Select(o => o.Key).ToList();
        Assert.Equal(keys, (await target.ListAllAsync("")).Select(o => o.Key));
        foreach (var k in keys) Assert.Equal(await clean.GetAsync(k), await target.GetAsync(k));
    }

    [SharedDataFact]
    public async Task Should_read_nothing_back_and_report_what_it_wrote_when_converting()
    {
        string[] files = [Real("gribberish__ecmwf-ifs-oper-surface.grib2"), Real("gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2")];
        foreach (var format in new[] { ZarrFormat.V2, ZarrFormat.V3 })
        {
            var target = new LocalDirectoryStore(_dir.Sub("written-" + format));
            var watched = new ReadCountingStore(target);
            var summary = await GribToZarr.ConvertAsync(files, watched, new ConversionOptions { Format = format, Parallelism = 1, IoConcurrency = 4 });
            Assert.Equal(0, watched.Reads);
            // The consolidated metadata and size reported are those of the store, as a reader finds them.
            Assert.Equal(await target.GetAsync(format == ZarrFormat.V2 ? ".zmetadata" : "zarr.json"), summary.Metadata);
            Assert.Equal((await target.ListAllAsync("")).Sum(o => o.Length), summary.StoredBytes);
            // And they are what consolidating from the store gives.
            var fromStore = await new ZarrWriter(target, format).ConsolidateAsync("");
            Assert.Equal(fromStore, summary.Metadata);
        }
    }

    /// <summary>Counts the reads (get, range, head, list) that reach the store; a copy is a get and a put through it.</summary>
    private sealed class ReadCountingStore(IObjectStore inner) : ForwardingStore(inner)
    {
        private int _reads;

        public int Reads => _reads;

        public override Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return Inner.TryGetAsync(key, cancellationToken);
        }

        public override Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return Inner.GetRangeAsync(key, offset, length, cancellationToken);
        }

        public override Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return Inner.HeadAsync(key, cancellationToken);
        }

        public override IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return Inner.ListAsync(prefix, cancellationToken);
        }

        public override Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default) =>
            CopyThroughAsync(source, destination, cancellationToken);
    }

    /// <summary>A store whose n-th put fails like a full disk (nothing written), as a store would report it; a copy is a get and a put through it.</summary>
    private sealed class FailingStore(IObjectStore inner, int failOnPut) : ForwardingStore(inner)
    {
        private int _puts;

        public string? FailedKey { get; private set; }

        public override Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _puts) != failOnPut) return Inner.PutAsync(key, data, cancellationToken);
            FailedKey = key;
            return Task.FromException(new ObjectStoreException(Inner.Location, key, "put", new IOException("No space left on device")));
        }

        public override Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default) =>
            CopyThroughAsync(source, destination, cancellationToken);
    }

    [Fact]
    public async Task Should_name_the_file_when_the_input_is_not_grib()
    {
        var bogus = _dir.Sub("bogus.grib2");
        await File.WriteAllBytesAsync(bogus, "GRIB this is not"u8.ToArray());
        var e = await Assert.ThrowsAnyAsync<Exception>(() => GribToZarr.ConvertAsync([bogus], new LocalDirectoryStore(_dir.Sub("x")), new ConversionOptions()));
        Assert.Contains("bogus.grib2", e.Message);
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => GribToZarr.ConvertAsync([_dir.Sub("none.grib2")], new LocalDirectoryStore(_dir.Sub("y")), new ConversionOptions()));
        Assert.Contains("none.grib2", missing.Message);
    }
}
