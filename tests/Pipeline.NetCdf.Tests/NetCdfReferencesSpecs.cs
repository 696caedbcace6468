using System.Text.Json.Nodes;
using Pipeline.NetCdf.References;
using Pipeline.Testing;
using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>
/// References for one file at a time, over fixtures netCDF4 wrote (tests/tools/netcdf_fixture.py), read back by
/// xarray through fsspec's ReferenceFileSystem and compared with what netCDF4 reads (tests/tools/netcdf_oracle.py).
/// </summary>
public sealed class NetCdfReferencesSpecs(NetCdfFixtures fx) : IClassFixture<NetCdfFixtures>
{
    [ServiceTheory(Service.Python)]
    [InlineData("roms_0.nc", NetCdfFormat.Hdf5)]
    [InlineData("fvcom_0.nc", NetCdfFormat.Hdf5)]
    [InlineData("fletcher.nc", NetCdfFormat.Hdf5)]
    [InlineData("tail.h5nc", NetCdfFormat.Hdf5)]
    [InlineData("classic.nc", NetCdfFormat.Classic)]
    [InlineData("offset64.nc", NetCdfFormat.Offset64)]
    [InlineData("data64.nc", NetCdfFormat.Data64)]
    [InlineData("classic_onerec.nc", NetCdfFormat.Classic)]
    public void Should_read_values_equal_to_netCDF4_when_xarray_opens_the_references_of_one_file(string name, NetCdfFormat format)
    {
        var path = fx[name];
        using var file = NetCdfFile.Open(path);
        Assert.Equal(format, file.Format);
        var result = NetCdfReferences.Build(file, path);
        Assert.DoesNotContain(VariableOutcome.Failed, result.Outcomes.Values);
        var refs = Write(result, name);
        var oracle = Python.Oracle(refs, [path]);
        Assert.True(oracle.Ok, oracle.Raw);
        Assert.Equal(file.Variables.Select(v => v.Name).Order(), oracle.Checked.Order());
    }

    [ServiceFact(Service.Python)]
    public void Should_point_at_the_original_chunks_with_zlib_and_shuffle_when_a_netcdf4_variable_is_compressed()
    {
        var path = fx["roms_0.nc"];
        using var file = NetCdfFile.Open(path);
        var result = NetCdfReferences.Build(file, "s3://bucket/run/roms_0.nc");
        Assert.Equal(VariableOutcome.Referenced, result.Outcomes["temp"]);
        var zarray = JsonNode.Parse(result.References["temp/.zarray"].InlineText)!;
        Assert.Equal("[1,2,20,17]", zarray["chunks"]!.ToJsonString());
        Assert.Equal("<f4", zarray["dtype"]!.GetValue<string>());
        Assert.Equal("""[{"elementsize":4,"id":"shuffle"},{"id":"zlib","level":4}]""", zarray["filters"]!.ToJsonString());
        Assert.Equal(1e37, zarray["fill_value"]!.GetValue<double>(), 1e30);
        var chunks = result.References.Keys.Where(k => k.StartsWith("temp/", StringComparison.Ordinal) && !k.Contains("/.", StringComparison.Ordinal)).ToList();
        Assert.Equal(1 * 2 * 2 * 3, chunks.Count);
        Assert.All(chunks, k => Assert.Equal("s3://bucket/run/roms_0.nc", result.References[k].Url));
        var zattrs = JsonNode.Parse(result.References["zeta/.zattrs"].InlineText)!;
        Assert.Equal(0.001, zattrs["scale_factor"]!.GetValue<double>(), 1e-9);
        Assert.Equal("""["ocean_time","eta_rho","xi_rho"]""", zattrs["_ARRAY_DIMENSIONS"]!.ToJsonString());
        Assert.Null(zattrs["_FillValue"]);
        Assert.Equal(-32767, JsonNode.Parse(result.References["zeta/.zarray"].InlineText)!["fill_value"]!.GetValue<long>());
    }

    [ServiceFact(Service.Python)]
    public void Should_use_big_endian_dtypes_and_one_record_per_chunk_when_the_file_is_netcdf3()
    {
        var path = fx["offset64.nc"];
        using var file = NetCdfFile.Open(path);
        var result = NetCdfReferences.Build(file, path, new ReferenceOptions { InlineThreshold = 0 });
        var zarray = JsonNode.Parse(result.References["t2/.zarray"].InlineText)!;
        Assert.Equal(">f4", zarray["dtype"]!.GetValue<string>());
        Assert.Equal("[1,5,7]", zarray["chunks"]!.ToJsonString());
        var records = Enumerable.Range(0, 3).Select(i => result.References[$"t2/{i}.0.0"]).ToList();
        Assert.All(records, r => Assert.Equal(5 * 7 * 4, r.Length));
        var step = records[1].Offset - records[0].Offset;
        Assert.Equal(step, records[2].Offset - records[1].Offset);
        Assert.True(step > 5 * 7 * 4, "records interleave the record variables");
        var oracle = Python.Oracle(Write(result, "offset64-noinline"), [path]);
        Assert.True(oracle.Ok, oracle.Raw);
    }

    [ServiceFact(Service.Python)]
    public void Should_reference_fixed_array_chunks_and_convert_extensible_arrays_when_the_file_has_hdf5_1_10_layouts()
    {
        var path = fx["latest.h5nc"];
        using var file = NetCdfFile.Open(path);
        var result = NetCdfReferences.Build(file, path, new ReferenceOptions { InlineThreshold = 0 });
        Assert.Equal(VariableOutcome.Referenced, result.Outcomes["fixed"]);
        Assert.Equal(VariableOutcome.Referenced, result.Outcomes["single"]);
        Assert.Equal(VariableOutcome.Converted, result.Outcomes["growing"]);
        Assert.Contains(result.Problems, p => p.Variable == "growing" && p.Message.Contains("ExtensibleArray", StringComparison.Ordinal));
        Assert.Equal(3 * 3, result.References.Keys.Count(k => k.StartsWith("fixed/", StringComparison.Ordinal) && !k.Contains("/.", StringComparison.Ordinal)));
        var oracle = Python.Oracle(Write(result, "latest"), [path]);
        Assert.True(oracle.Ok, oracle.Raw);
        Assert.Equal(5, oracle.Checked.Count);
    }

    [ServiceFact(Service.Python)]
    public void Should_convert_the_variable_when_its_chunks_carry_fletcher32_checksums()
    {
        var path = fx["fletcher.nc"];
        using var file = NetCdfFile.Open(path);
        var result = NetCdfReferences.Build(file, path);
        Assert.Equal(VariableOutcome.Converted, result.Outcomes["checked"]);
        Assert.Contains(result.Problems, p => p.Variable == "checked" && p.Message.Contains("fletcher32", StringComparison.Ordinal));
        Assert.NotEqual(VariableOutcome.Converted, result.Outcomes["plain"]);
        var oracle = Python.Oracle(Write(result, "fletcher"), [path]);
        Assert.True(oracle.Ok, oracle.Raw);
        Assert.Contains("checked", oracle.Checked);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_reference_converted_chunks_in_the_store_when_a_store_is_given()
    {
        var path = fx["fletcher.nc"];
        var store = new LocalDirectoryStore(fx.Scratch());
        using var file = NetCdfFile.Open(path);
        var result = await NetCdfReferences.BuildAsync(file, path, new ReferenceOptions { ConvertStore = store, ConvertedPrefix = "run1/fletcher" });
        var chunk = result.References["checked/0.0"];
        Assert.StartsWith(store.Location + "/run1/fletcher/checked/0.0", chunk.Url);
        Assert.NotNull(await store.TryGetAsync("run1/fletcher/checked/2.0"));
        var oracle = Python.Oracle(Write(result, "fletcher-store"), [path]);
        Assert.True(oracle.Ok, oracle.Raw);
    }

    [ServiceFact(Service.Python)]
    public void Should_name_the_variable_and_the_filter_when_a_filter_is_unsupported_and_index_the_rest()
    {
        var path = fx["filters.h5nc"];
        using var file = NetCdfFile.Open(path);
        var result = NetCdfReferences.Build(file, path);
        Assert.Equal(VariableOutcome.Failed, result.Outcomes["szipped"]);
        Assert.Equal(VariableOutcome.Failed, result.Outcomes["lzfed"]);
        Assert.Contains(result.Problems, p => p.Variable == "szipped" && p.Message.Contains("szip", StringComparison.Ordinal) && p.File == path);
        Assert.Contains(result.Problems, p => p.Variable == "lzfed" && p.Message.Contains("lzf", StringComparison.Ordinal));
        Assert.False(result.References.Contains("szipped/.zarray"), "a failed variable leaves no partial array");
        var oracle = Python.Oracle(Write(result, "filters"), [path], skip: ["szipped", "lzfed"]);
        Assert.True(oracle.Ok, oracle.Raw);
        Assert.Contains("plain", oracle.Checked);
    }

    [ServiceFact(Service.Python)]
    public void Should_fail_only_the_cut_variable_when_an_hdf5_file_is_truncated_inside_its_data()
    {
        var cut = Truncate(fx["tail.h5nc"], 400_000);
        using var file = NetCdfFile.Open(cut);
        var result = NetCdfReferences.Build(file, cut);
        Assert.Equal(VariableOutcome.Failed, result.Outcomes["big"]);
        var problem = Assert.Single(result.Problems, p => p.Variable == "big" && p.Message.Contains("truncated", StringComparison.Ordinal));
        Assert.Contains("beyond the end of the file", problem.Message, StringComparison.Ordinal);
        Assert.NotEqual(VariableOutcome.Failed, result.Outcomes["small"]);
        var oracle = Python.Oracle(Write(result, "tail-cut"), [fx["tail.h5nc"]], skip: ["big"]);
        Assert.True(oracle.Ok, oracle.Raw);
        Assert.Contains("small", oracle.Checked);
    }

    [ServiceFact(Service.Python)]
    public void Should_fail_only_the_cut_variables_when_a_classic_file_is_truncated()
    {
        var cut = Truncate(fx["classic.nc"], 1000);
        using var file = NetCdfFile.Open(cut);
        var result = NetCdfReferences.Build(file, cut);
        var failed = result.With(VariableOutcome.Failed).ToList();
        Assert.Contains("t2", failed);
        Assert.Contains("lat", result.Outcomes.Keys.Except(failed));
        Assert.All(failed, v => Assert.Contains(result.Problems, p => p.Variable == v && p.Message.Contains("truncated", StringComparison.Ordinal)));
    }

    [ServiceFact(Service.Python)]
    public void Should_say_the_file_is_truncated_when_an_hdf5_header_is_cut()
    {
        var cut = Truncate(fx["roms_0.nc"], 30_000);
        var e = Assert.Throws<InvalidDataException>(() => NetCdfFile.Open(cut));
        Assert.Contains(cut, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    private string Write(NetCdfReferenceResult result, string name)
    {
        var path = Path.Combine(fx.Scratch(), name + ".json");
        File.WriteAllBytes(path, result.References.ToJson());
        return path;
    }

    private string Truncate(string path, int length)
    {
        var cut = Path.Combine(fx.Scratch(), Path.GetFileName(path));
        File.WriteAllBytes(cut, File.ReadAllBytes(path)[..length]);
        return cut;
    }
}
