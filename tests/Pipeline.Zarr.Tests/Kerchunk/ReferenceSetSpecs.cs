using System.Text.Json.Nodes;
using Pipeline.Testing;
using Pipeline.Zarr.Kerchunk;
using Xunit;

namespace Pipeline.Zarr.Tests.Kerchunk;

public sealed class ReferenceSetSpecs
{
    private static IEnumerable<string> Samples() =>
        SharedData.Root is null ? [] : Directory.EnumerateFiles(SharedData.Data("kerchunk"), "*.json").Order(StringComparer.Ordinal);

    [SharedDataFact]
    public void Should_reproduce_the_exact_bytes_when_rewriting_real_scan_grib_reference_sets()
    {
        var files = Samples().ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var original = File.ReadAllBytes(file);
            var set = ReferenceSet.Parse(original, file);
            var again = set.ToJson();
            // Same document; byte-identical except for escaping choices (Python escapes '/' and non-ASCII).
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(original), JsonNode.Parse(again)), $"{file} changed meaning when rewritten");
            Assert.Equal(ReferenceSet.Parse(again).ToJson(), again);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(original), System.Text.Encoding.UTF8.GetString(again));
        }
    }

    [SharedDataFact]
    public void Should_combine_real_scan_grib_sets_along_step_like_MultiZarrToZarr()
    {
        var sets = Samples().Select(f => ReferenceSet.Parse(File.ReadAllBytes(f), f)).ToList();
        var u10 = sets.Where(s => s.Contains("u10/.zarray")).ToList();
        var v10 = sets.Where(s => s.Contains("v10/.zarray")).ToList();
        var combined = ReferenceCombiner.Combine([.. u10, .. v10], ["step"]);
        var shuffled = ReferenceCombiner.Combine([.. v10.AsEnumerable().Reverse(), .. u10.AsEnumerable().Reverse()], ["step"]);
        Assert.Equal(combined.ToJson(), shuffled.ToJson());

        var zarray = JsonNode.Parse(combined["u10/.zarray"].InlineText)!;
        Assert.Equal([4L, 29, 37], zarray["shape"]!.AsArray().Select(x => x!.GetValue<long>()));
        Assert.Equal([1L, 29, 37], zarray["chunks"]!.AsArray().Select(x => x!.GetValue<long>()));
        var attrs = JsonNode.Parse(combined["u10/.zattrs"].InlineText)!;
        Assert.Equal(["step", "latitude", "longitude"], attrs["_ARRAY_DIMENSIONS"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal(KerchunkRef.Range("{{u}}", 0, 1667), combined["u10/0.0.0"]);
        Assert.Equal(KerchunkRef.Range("{{u}}", 14438, 1482), combined["u10/3.0.0"]);
        Assert.Equal(3, combined.Keys.Count(k => k.StartsWith("v10/", StringComparison.Ordinal) && !k.Contains("/.")));
        Assert.Equal(new long[] { 0, 1, 2, 3 }, Int64s(combined["step/0"].Inline!));
        var valid = JsonNode.Parse(combined["valid_time/.zattrs"].InlineText)!;
        Assert.Equal(["step"], valid["_ARRAY_DIMENSIONS"]!.AsArray().Select(x => x!.GetValue<string>()));
        // latitude / longitude / heightAboveGround are the same everywhere: copied once, unchanged.
        Assert.Equal(sets[0]["latitude/0"], combined["latitude/0"]);
        Assert.Equal(sets[0]["heightAboveGround/0"], combined["heightAboveGround/0"]);
        Assert.Equal("example.grb", combined.Templates["u"]);
    }

    [SharedDataFact]
    public void Should_name_the_key_when_two_inputs_conflict()
    {
        var sets = Samples().Select(f => ReferenceSet.Parse(File.ReadAllBytes(f), f)).Where(s => s.Contains("u10/.zarray")).ToList();
        var twin = ReferenceSet.Parse(sets[0].ToJson());
        twin.Set("u10/0.0", KerchunkRef.Range("{{u}}", 99, 1));
        var e = Assert.Throws<InvalidDataException>(() => ReferenceCombiner.Combine([sets[0], twin], ["step"]));
        Assert.Contains("u10/0.0.0", e.Message);
    }

    [Fact]
    public void Should_write_inline_bytes_as_text_when_utf8_and_base64_otherwise()
    {
        var set = new ReferenceSet()
            .SetText(".zgroup", "{\"zarr_format\":2}")
            .Set("h/0", KerchunkRef.Bytes([0, 0, 0, 0, 0, 0, 36, 64]))
            .Set("lat/0", KerchunkRef.Bytes([0, 0, 0, 0, 0, 128, 67, 64, 0xff]))
            .Set("t/0.0", KerchunkRef.Range("{{u}}", 10, 20))
            .Set("whole", KerchunkRef.File("s3://b/f.grib2"));
        set.Templates["u"] = "s3://b/f.grib2";
        var json = System.Text.Encoding.UTF8.GetString(set.ToJson());
        Assert.Equal("""{"version": 1, "refs": {".zgroup": "{\"zarr_format\":2}", "h/0": "\u0000\u0000\u0000\u0000\u0000\u0000$@", "lat/0": "base64:AAAAAACAQ0D/", "t/0.0": ["{{u}}", 10, 20], "whole": ["s3://b/f.grib2"]}, "templates": {"u": "s3://b/f.grib2"}}""", json);
        var back = ReferenceSet.Parse(set.ToJson());
        Assert.Equal(set.Keys, back.Keys);
        foreach (var k in set.Keys) Assert.Equal(set[k], back[k]);
        Assert.Equal("s3://b/f.grib2", back.ResolveUrl(back["t/0.0"].Url!));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"version\": 2, \"refs\": {}}")]
    [InlineData("{\"version\": 1}")]
    [InlineData("{\"version\": 1, \"refs\": {\"a/0\": [\"u\", -1, 5]}}")]
    [InlineData("{\"version\": 1, \"refs\": {\"a/0\": [\"u\", 1]}}")]
    [InlineData("{\"version\": 1, \"refs\": {\"../x\": \"y\"}}")]
    [InlineData("{\"version\": 1, \"refs\": {\"a/0\": \"base64:@@@\"}}")]
    [InlineData("{\"version\": 1, \"refs\": {\"a/0\": 5}}")]
    public void Should_reject_with_a_clear_error_when_the_reference_json_is_hostile_or_broken(string json)
    {
        var e = Assert.Throws<InvalidDataException>(() => ReferenceSet.Parse(System.Text.Encoding.UTF8.GetBytes(json), "refs.json"));
        Assert.Contains("refs.json", e.Message);
    }

    private static long[] Int64s(byte[] b) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(b.AsSpan()).ToArray();
}
