using System.Runtime.InteropServices;
using Pipeline.Zarr.Codecs;
using Xunit;

namespace Pipeline.Zarr.Tests.Codecs;

public sealed class CodecSpecs
{
    public static TheoryData<string> Names => ["zstd", "zstd:1", "zstd:19", "zlib", "zlib:9", "gzip", "gzip:1", "none"];

    private static byte[] Field()
    {
        var values = new float[100_000];
        for (var i = 0; i < values.Length; i++) values[i] = 273.15f + MathF.Sin(i / 300f) * 20 + i % 7 * 0.01f;
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Should_round_trip_and_be_deterministic_when_encoding_a_field(string name)
    {
        foreach (var shuffle in new[] { 0, 4 })
        {
            var pipeline = CodecPipeline.Parse(name, shuffle);
            var raw = Field();
            var a = pipeline.Encode(raw);
            var b = pipeline.Encode(raw);
            Assert.Equal(a, b);
            Assert.Equal(raw, pipeline.Decode(a));
            if (name != "none" && shuffle > 0) Assert.True(a.Length < raw.Length, $"{name} did not compress ({a.Length} >= {raw.Length})");
        }
    }

    [Fact]
    public void Should_compress_better_with_shuffle_when_the_data_are_smooth_floats()
    {
        var raw = Field();
        var plain = CodecPipeline.Parse("zstd").Encode(raw).Length;
        var shuffled = CodecPipeline.Parse("zstd", 4).Encode(raw).Length;
        Assert.True(shuffled < plain, $"shuffle {shuffled} vs plain {plain}");
    }

    [Fact]
    public void Should_group_bytes_by_significance_when_shuffling_like_numcodecs()
    {
        byte[] input = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var f = new ShuffleFilter(4);
        Assert.Equal(new byte[] { 1, 5, 2, 6, 3, 7, 4, 8, 9 }, f.Encode(input));
        Assert.Equal(input, f.Decode(f.Encode(input)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void Should_match_the_byte_by_byte_definition_when_shuffling_any_length_in_blocks_and_vectors(int size)
    {
        // Lengths around the 16-element vector groups and the 2048-element blocks, with trailing partial elements.
        var rng = new Random(size);
        foreach (var elements in new[] { 0, 1, 15, 16, 17, 31, 2047, 2048, 2049, 2048 * 3 + 21, 100_003 })
        {
            var input = new byte[elements * size + (elements % 3)];
            rng.NextBytes(input);
            var count = input.Length / size;
            var expected = (byte[])input.Clone();
            for (var i = 0; i < count; i++)
                for (var j = 0; j < size; j++)
                    expected[j * count + i] = input[i * size + j];
            var f = new ShuffleFilter(size);
            var encoded = f.Encode(input);
            Assert.True(expected.AsSpan().SequenceEqual(encoded), $"size {size}, {elements} elements: encoding differs");
            Assert.True(input.AsSpan().SequenceEqual(f.Decode(encoded)), $"size {size}, {elements} elements: decoding differs");
        }
    }

    [Fact]
    public void Should_give_numcodecs_configs_when_asked_for_v2_and_v3_metadata()
    {
        Assert.Equal("""{"id":"zstd","level":3}""", new ZstdCodec().V2Config().ToJsonString());
        Assert.Equal("""{"id":"zlib","level":5}""", new ZlibCodec().V2Config().ToJsonString());
        Assert.Equal("""{"id":"gzip","level":9}""", new GzipCodec(9).V2Config().ToJsonString());
        Assert.Equal("""{"id":"shuffle","elementsize":4}""", new ShuffleFilter(4).V2Config().ToJsonString());
        Assert.Equal("""{"name":"zstd","configuration":{"level":3,"checksum":false}}""", new ZstdCodec().V3Config()!.ToJsonString());
        Assert.Equal("""{"name":"gzip","configuration":{"level":5}}""", new GzipCodec().V3Config()!.ToJsonString());
        Assert.Null(new ZlibCodec().V3Config());
    }

    [Theory]
    [InlineData("lz4")]
    [InlineData("zstd:99")]
    [InlineData("zlib:x")]
    [InlineData("gzip:-1")]
    public void Should_name_the_compressor_when_it_is_unknown_or_its_level_is_bad(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => CodecPipeline.Parse(name));
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Should_fail_clearly_when_decoding_corrupt_data()
    {
        var garbage = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        Assert.ThrowsAny<InvalidDataException>(() => new ZstdCodec().Decode(garbage));
        Assert.ThrowsAny<InvalidDataException>(() => new ZlibCodec().Decode(garbage));
        Assert.ThrowsAny<InvalidDataException>(() => new GzipCodec().Decode(garbage));
    }
}
