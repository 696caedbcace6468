using System.Buffers.Binary;
using Pipeline.NetCdf.References;
using Pipeline.Zarr.Kerchunk;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>The run combiner on small hand-made reference sets (no Python needed).</summary>
public sealed class RunReferencesUnitSpecs
{
    [Fact]
    public void Should_shift_chunk_indices_by_the_files_position_when_combining_along_time()
    {
        var run = new RunReferences("time");
        run.Add("b", File2D("b", [20, 30], 100));
        run.Add("a", File2D("a", [0, 10], 0));
        var combined = run.Build();
        Assert.Equal(KerchunkRef.Range("b", 100, 8), combined["v/2.0"]);
        Assert.Equal(KerchunkRef.Range("b", 108, 8), combined["v/3.0"]);
        Assert.Equal(KerchunkRef.Range("a", 0, 8), combined["v/0.0"]);
        Assert.Contains("\"shape\":[4,2]", combined["v/.zarray"].InlineText, StringComparison.Ordinal);
        Assert.Equal(new[] { 0.0, 10, 20, 30 }, Doubles(combined["time/0"].Inline!));
        Assert.Equal(KerchunkRef.Range("a", 999, 16), combined["static/0"]);
    }

    [Fact]
    public void Should_give_the_same_bytes_and_report_no_change_when_files_repeat_or_arrive_reordered()
    {
        var one = new RunReferences("time");
        Assert.True(one.Add("a", File2D("a", [0, 10], 0)));
        Assert.True(one.Add("b", File2D("b", [20, 30], 100)));
        Assert.False(one.Add("a", File2D("a", [0, 10], 0)));
        var two = new RunReferences("time");
        two.Add("b", File2D("b", [20, 30], 100));
        two.Add("a", File2D("a", [0, 10], 0));
        Assert.Equal(one.Build().ToJson(), two.Build().ToJson());
    }

    [Fact]
    public void Should_name_both_files_when_time_ranges_interleave()
    {
        var run = new RunReferences("time");
        run.Add("a", File2D("a", [0, 20], 0));
        run.Add("b", File2D("b", [10, 30], 100));
        var e = Assert.Throws<InvalidDataException>(run.Build);
        Assert.Contains("a and b interleave", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_file_without_the_concat_coordinate()
    {
        var set = new ReferenceSet();
        set.SetText(".zgroup", "{\"zarr_format\":2}");
        var e = Assert.Throws<InvalidDataException>(() => new RunReferences("ocean_time").Add("x.nc", set));
        Assert.Contains("x.nc: no 'ocean_time' array", e.Message, StringComparison.Ordinal);
    }

    private static ReferenceSet File2D(string url, double[] times, long offset)
    {
        var set = new ReferenceSet();
        set.SetText(".zgroup", "{\"zarr_format\":2}");
        set.SetText(".zattrs", "{}");
        set.SetText("time/.zarray", $$"""{"chunks":[{{times.Length}}],"compressor":null,"dtype":"<f8","fill_value":null,"filters":null,"order":"C","shape":[{{times.Length}}],"zarr_format":2}""");
        set.SetText("time/.zattrs", """{"_ARRAY_DIMENSIONS":["time"],"units":"hours since 2024-01-01"}""");
        var bytes = new byte[8 * times.Length];
        for (var i = 0; i < times.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), times[i]);
        set.Set("time/0", KerchunkRef.Bytes(bytes));
        set.SetText("v/.zarray", $$"""{"chunks":[1,2],"compressor":null,"dtype":">f4","fill_value":null,"filters":null,"order":"C","shape":[{{times.Length}},2],"zarr_format":2}""");
        set.SetText("v/.zattrs", """{"_ARRAY_DIMENSIONS":["time","x"]}""");
        for (var i = 0; i < times.Length; i++) set.Set($"v/{i}.0", KerchunkRef.Range(url, offset + 8 * i, 8));
        set.SetText("static/.zarray", """{"chunks":[2],"compressor":null,"dtype":">f8","fill_value":null,"filters":null,"order":"C","shape":[2],"zarr_format":2}""");
        set.SetText("static/.zattrs", """{"_ARRAY_DIMENSIONS":["x"]}""");
        set.Set("static/0", KerchunkRef.Range(url, 999, 16));
        return set;
    }

    private static double[] Doubles(byte[] b) => Enumerable.Range(0, b.Length / 8).Select(i => BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(8 * i))).ToArray();
}
