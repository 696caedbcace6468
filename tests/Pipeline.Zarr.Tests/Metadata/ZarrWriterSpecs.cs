using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;
using Pipeline.Zarr.Tests.Support;
using Xunit;

namespace Pipeline.Zarr.Tests.Metadata;

public sealed class ZarrWriterSpecs : IDisposable
{
    private readonly TempDirectory _dir = new("writer");

    public void Dispose() => _dir.Dispose();

    private static ZarrArray Field(string path = "t2m", long ny = 3, long nx = 4, int cy = 3, int cx = 4, CodecPipeline? codecs = null) =>
        new(path, ZarrDataType.Float32, [2, ny, nx], [1, cy, cx], ["step", "latitude", "longitude"],
            new JsonObject { ["units"] = "K", ["GRIB_paramId"] = 167, ["GRIB_missingValue"] = 3.4028234663852886e+38 },
            codecs ?? CodecPipeline.Zstd(), double.NaN);

    [Fact]
    public void Should_write_zarray_with_sorted_keys_and_NaN_fill_when_describing_a_v2_array()
    {
        var json = Encoding.UTF8.GetString(CanonicalJson.Serialize(Field().V2Metadata(), indented: false));
        Assert.Equal("""{"chunks":[1,3,4],"compressor":{"id":"zstd","level":3},"dtype":"<f4","fill_value":"NaN","filters":null,"order":"C","shape":[2,3,4],"zarr_format":2}""", json);
        var attrs = Encoding.UTF8.GetString(CanonicalJson.Serialize(Field().V2Attributes(), indented: false));
        Assert.Equal("""{"GRIB_missingValue":3.4028234663852886e+38,"GRIB_paramId":167,"_ARRAY_DIMENSIONS":["step","latitude","longitude"],"units":"K"}""", attrs);
    }

    [Fact]
    public void Should_use_dotted_keys_in_v2_and_c_slash_keys_in_v3()
    {
        var a = Field();
        Assert.Equal("t2m/1.0.2", a.ChunkKey(ZarrFormat.V2, [1, 0, 2]));
        Assert.Equal("t2m/c/1/0/2", a.ChunkKey(ZarrFormat.V3, [1, 0, 2]));
        var scalar = new ZarrArray("height", ZarrDataType.Float64, [], [], []);
        Assert.Equal("height/0", scalar.ChunkKey(ZarrFormat.V2, []));
        Assert.Equal("height/c", scalar.ChunkKey(ZarrFormat.V3, []));
    }

    [Fact]
    public async Task Should_write_identical_bytes_when_the_same_field_is_written_twice()
    {
        var values = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var s1 = new LocalDirectoryStore(_dir.Sub("a"));
        var s2 = new LocalDirectoryStore(_dir.Sub("b"));
        foreach (var store in new[] { s1, s2 })
        {
            var w = new ZarrWriter(store);
            await w.WriteGroupAsync("", new JsonObject { ["b"] = 1, ["a"] = "x" });
            await w.WriteArrayMetadataAsync(Field());
            await w.WriteBlockAsync<float>(Field(), [1], values);
            await w.WriteBlockAsync<float>(Field(), [1], values);
            await w.ConsolidateAsync();
        }
        var keys = (await s1.ListAllAsync("")).Select(o => o.Key).ToList();
        Assert.Equal((await s2.ListAllAsync("")).Select(o => o.Key), keys);
        Assert.Contains("t2m/1.0.0", keys);
        foreach (var k in keys) Assert.Equal(await s1.GetAsync(k), await s2.GetAsync(k));
    }

    [Fact]
    public async Task Should_tile_and_pad_with_the_fill_value_when_the_field_exceeds_the_chunk()
    {
        var store = new LocalDirectoryStore(_dir.Sub("tiles"));
        var w = new ZarrWriter(store);
        var a = Field(ny: 3, nx: 5, cy: 2, cx: 3, codecs: CodecPipeline.None);
        var values = Enumerable.Range(0, 15).Select(i => (float)i).ToArray();
        var keys = await w.WriteBlockAsync<float>(a, [0], values);
        Assert.Equal(["t2m/0.0.0", "t2m/0.0.1", "t2m/0.1.0", "t2m/0.1.1"], keys);
        var firstTile = Read(await store.GetAsync("t2m/0.0.0"));
        Assert.Equal(new float[] { 0, 1, 2, 5, 6, 7 }, firstTile);
        var edge = Read(await store.GetAsync("t2m/0.1.1"));
        Assert.Equal(13f, edge[0]);
        Assert.Equal(14f, edge[1]);
        Assert.True(float.IsNaN(edge[2]) && float.IsNaN(edge[3]) && float.IsNaN(edge[4]) && float.IsNaN(edge[5]));
    }

    private static float[] Read(byte[] b) => MemoryMarshal.Cast<byte, float>(b.AsSpan()).ToArray();

    [Fact]
    public void Should_reject_with_the_array_named_when_the_block_is_the_wrong_size_type_or_index()
    {
        var w = new ZarrWriter(new LocalDirectoryStore(_dir.Sub("bad")));
        var e = Assert.Throws<ArgumentException>(() => w.EncodeBlock<float>(Field(), [0], new float[5]));
        Assert.Contains("t2m", e.Message);
        Assert.Throws<ArgumentException>(() => w.EncodeBlock<double>(Field(), [0], new double[12]));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.EncodeBlock<float>(Field(), [2], new float[12]));
        Assert.Throws<ArgumentException>(() => new ZarrArray("x", ZarrDataType.Float32, [2, 2], [1], ["a", "b"]));
        Assert.Throws<InvalidStoreKeyException>(() => new ZarrArray("../x", ZarrDataType.Float32, [2], [1], ["a"]));
    }

    [Fact]
    public void Should_plan_one_field_per_chunk_when_under_8MB_and_tiles_beyond()
    {
        Assert.Equal([1, 1, 721, 1440], ChunkPlanner.Plan([10, 5, 721, 1440], 2, 4));
        var big = ChunkPlanner.Plan([3, 4000, 3000], 1, 4);
        Assert.Equal(1, big[0]);
        Assert.True(big[1] * (long)big[2] * 4 <= 8 << 20);
        Assert.True(big[1] * (long)big[2] * 4 > 2 << 20);
    }

    [Fact]
    public async Task Should_consolidate_every_metadata_document_when_writing_v2()
    {
        var store = new LocalDirectoryStore(_dir.Sub("cons"));
        var w = new ZarrWriter(store);
        await w.WriteGroupAsync("", new JsonObject { ["Conventions"] = "CF-1.7" });
        await w.WriteArrayMetadataAsync(Field());
        await w.WriteArrayAsync<double>(new ZarrArray("latitude", ZarrDataType.Float64, [3], [3], ["latitude"]), new double[] { 1, 2, 3 });
        await w.ConsolidateAsync();
        var doc = JsonNode.Parse(await store.GetAsync(".zmetadata"))!;
        Assert.Equal(1, doc["zarr_consolidated_format"]!.GetValue<int>());
        var keys = doc["metadata"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Equal([".zattrs", ".zgroup", "latitude/.zarray", "latitude/.zattrs", "t2m/.zarray", "t2m/.zattrs"], keys);
        Assert.Equal("NaN", doc["metadata"]!["t2m/.zarray"]!["fill_value"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(ZarrFormat.V2)]
    [InlineData(ZarrFormat.V3)]
    public async Task Should_consolidate_what_it_wrote_byte_for_byte_as_from_the_store_when_it_is_the_only_writer(ZarrFormat format)
    {
        var store = new LocalDirectoryStore(_dir.Sub("written-" + format));
        var w = new ZarrWriter(store, format, maxConcurrentPuts: 3);
        await w.WriteGroupAsync("", new JsonObject { ["Conventions"] = "CF-1.7" });
        await w.WriteGroupAsync("surface", new JsonObject { ["level"] = "surface" });
        await w.WriteArrayMetadataAsync(Field("surface/t2m"));
        await w.WriteArrayAsync<double>(new ZarrArray("surface/latitude", ZarrDataType.Float64, [3], [3], ["latitude"]), new double[] { 1, 2, 3 });
        var group = await w.ConsolidateWrittenAsync("surface");
        var root = await w.ConsolidateWrittenAsync("");
        var name = format == ZarrFormat.V2 ? ".zmetadata" : "zarr.json";
        Assert.Equal(await store.GetAsync("surface/" + name), group);
        Assert.Equal(await store.GetAsync(name), root);

        // A second writer that reads the store back writes the same documents.
        var reader = new ZarrWriter(store, format);
        Assert.Equal(group, await reader.ConsolidateAsync("surface"));
        Assert.Equal(root, await reader.ConsolidateAsync(""));
    }

    [Fact]
    public async Task Should_write_spec_conformant_zarr_json_when_writing_v3()
    {
        var store = new LocalDirectoryStore(_dir.Sub("v3"));
        var w = new ZarrWriter(store, ZarrFormat.V3);
        await w.WriteGroupAsync("", new JsonObject { ["title"] = "run" });
        var a = Field(codecs: CodecPipeline.Parse("gzip"));
        await w.WriteArrayMetadataAsync(a);
        await w.WriteBlockAsync<float>(a, [0], new float[12]);
        await w.ConsolidateAsync();
        Assert.True(await store.ExistsAsync("t2m/c/0/0/0"));
        var group = JsonNode.Parse(await store.GetAsync("zarr.json"))!.AsObject();
        Assert.Equal(3, group["zarr_format"]!.GetValue<int>());
        Assert.Equal("group", group["node_type"]!.GetValue<string>());
        Assert.Equal("run", group["attributes"]!["title"]!.GetValue<string>());
        Assert.Equal("inline", group["consolidated_metadata"]!["kind"]!.GetValue<string>());
        Assert.NotNull(group["consolidated_metadata"]!["metadata"]!["t2m"]);
        V3Spec.AssertArrayMetadata(JsonNode.Parse(await store.GetAsync("t2m/zarr.json"))!.AsObject());
        var arr = JsonNode.Parse(await store.GetAsync("t2m/zarr.json"))!;
        Assert.Equal(["step", "latitude", "longitude"], arr["dimension_names"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal("NaN", arr["fill_value"]!.GetValue<string>());
        Assert.Equal(["bytes", "gzip"], arr["codecs"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Throws<NotSupportedException>(() => Field(codecs: CodecPipeline.Parse("zlib")).V3Metadata());
        Assert.Throws<NotSupportedException>(() => Field(codecs: CodecPipeline.Parse("zstd", 4)).V3Metadata());
    }
}

/// <summary>Structural checks of Zarr v3 array metadata against the core specification (zarr 2.13 cannot read v3).</summary>
public static class V3Spec
{
    private static readonly HashSet<string> Allowed =
        ["zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs", "attributes", "dimension_names", "storage_transformers"];

    public static void AssertArrayMetadata(JsonObject a)
    {
        foreach (var (k, _) in a) Assert.Contains(k, Allowed);
        Assert.Equal(3, a["zarr_format"]!.GetValue<int>());
        Assert.Equal("array", a["node_type"]!.GetValue<string>());
        var shape = a["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
        Assert.All(shape, s => Assert.True(s >= 0));
        Assert.Contains(a["data_type"]!.GetValue<string>(), ZarrDataType.All.Select(t => t.V3Name));
        Assert.Equal("regular", a["chunk_grid"]!["name"]!.GetValue<string>());
        var chunks = a["chunk_grid"]!["configuration"]!["chunk_shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
        Assert.Equal(shape.Length, chunks.Length);
        Assert.All(chunks, c => Assert.True(c > 0));
        Assert.Equal("default", a["chunk_key_encoding"]!["name"]!.GetValue<string>());
        Assert.Contains(a["chunk_key_encoding"]!["configuration"]!["separator"]!.GetValue<string>(), new[] { "/", "." });
        Assert.NotNull(a["fill_value"]);
        var codecs = a["codecs"]!.AsArray();
        Assert.Equal("bytes", codecs[0]!["name"]!.GetValue<string>());
        Assert.Equal("little", codecs[0]!["configuration"]!["endian"]!.GetValue<string>());
        foreach (var c in codecs.Skip(1)) Assert.Contains(c!["name"]!.GetValue<string>(), new[] { "zstd", "gzip", "crc32c" });
        if (a["dimension_names"] is JsonArray dims) Assert.Equal(shape.Length, dims.Count);
    }
}
