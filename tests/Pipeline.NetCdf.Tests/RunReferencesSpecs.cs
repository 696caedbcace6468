using Pipeline.NetCdf.References;
using Pipeline.Testing;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>The combined reference set of a run, grown file by file in any order, against netCDF4 over the originals concatenated.</summary>
public sealed class RunReferencesSpecs(NetCdfFixtures fx) : IClassFixture<NetCdfFixtures>
{
    [ServiceTheory(Service.Python)]
    [InlineData("roms", "ocean_time")]
    [InlineData("fvcom", "time")]
    public void Should_read_the_run_equal_to_netCDF4_when_files_arrive_in_shuffled_order(string kind, string dim)
    {
        var files = Enumerable.Range(0, 3).Select(i => fx[$"{kind}_{i}.nc"]).ToList();
        var sets = files.ToDictionary(f => f, Refs);
        byte[]? first = null;
        foreach (var order in new[] { new[] { 2, 0, 1 }, [1, 2, 0], [0, 1, 2] })
        {
            var run = new RunReferences(dim);
            foreach (var i in order) Assert.True(run.Add(files[i], sets[files[i]]));
            var json = run.Build().ToJson();
            if (first is null) first = json;
            else Assert.True(first.AsSpan().SequenceEqual(json), "the combined references depend on the arrival order");
        }
        var path = Path.Combine(fx.Scratch(), kind + "-run.json");
        File.WriteAllBytes(path, first!);
        var oracle = Python.Oracle(path, [files[1], files[2], files[0]], concat: dim);
        Assert.True(oracle.Ok, oracle.Raw);
        Assert.Contains(dim, oracle.Checked);
    }

    [ServiceFact(Service.Python)]
    public void Should_change_nothing_when_the_same_file_is_added_twice()
    {
        var run = new RunReferences("ocean_time");
        var a = Refs(fx["roms_0.nc"]);
        Assert.True(run.Add("roms_0", a));
        Assert.True(run.Add("roms_1", Refs(fx["roms_1.nc"])));
        var before = run.Build().ToJson();
        Assert.False(run.Add("roms_0", Refs(fx["roms_0.nc"])));
        Assert.Equal(2, run.Files.Count);
        Assert.True(before.AsSpan().SequenceEqual(run.Build().ToJson()));
        var restored = RunReferences.FromJson(run.ToJson());
        Assert.True(before.AsSpan().SequenceEqual(restored.Build().ToJson()), "state survives a JSON round trip");
    }

    [ServiceFact(Service.Python)]
    public void Should_refuse_a_file_whose_times_overlap_another_file()
    {
        var run = new RunReferences("time");
        run.Add("classic", Refs(fx["classic.nc"]));
        var e = Assert.Throws<InvalidDataException>(() => run.Add("offset64", Refs(fx["offset64.nc"])));
        Assert.Contains("overlap", e.Message, StringComparison.Ordinal);
        Assert.Contains("classic", e.Message, StringComparison.Ordinal);
        Assert.Single(run.Files);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_write_a_zarr_store_equal_to_netCDF4_when_converting_a_run()
    {
        var files = new[] { fx["roms_1.nc"], fx["roms_0.nc"], fx["roms_2.nc"] };
        var dir = fx.Scratch();
        var result = await NetCdfZarr.ConvertAsync(files, new LocalDirectoryStore(dir));
        Assert.Equal("ocean_time", result.ConcatDim);
        Assert.True(File.Exists(Path.Combine(dir, ".zmetadata")));
        var oracle = Python.Oracle(dir, files, concat: "ocean_time");
        Assert.True(oracle.Ok, oracle.Raw);
    }

    private static ReferenceSet Refs(string path)
    {
        using var file = NetCdfFile.Open(path);
        return NetCdfReferences.Build(file, path).References;
    }
}
