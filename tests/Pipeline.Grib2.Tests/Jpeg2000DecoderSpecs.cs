using Pipeline.Grib2.Data;
using Pipeline.Grib2.Data.Jpeg2000;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// The C# JPEG 2000 decoder (Jpeg2000/J2kDecoder) against OpenJPEG, the library ecCodes uses: the corpus's template
/// 5.40 messages, then code streams that OpenJPEG's own encoder writes over the options GRIB producers may use.
/// Integers are compared before any GRIB scaling, so a difference is the decoder's and nothing else's.
/// </summary>
public sealed class Jpeg2000DecoderSpecs
{
    private static int[] Ours(ReadOnlySpan<byte> data, int n)
    {
        var ints = new int[n];
        J2kDecoder.Decode(data, ints, 0);
        return ints;
    }

    private static void AssertSame(int[] expected, int[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                Assert.Fail($"{what}: sample {i} of {expected.Length} is {actual[i]}, OpenJPEG {expected[i]}");
    }

    [SharedDataFact]
    public void Should_give_OpenJPEGs_integers_when_decoding_the_corpus_jpeg2000_messages()
    {
        var compared = 0;
        foreach (var path in SharedData.GribFiles())
        {
            IReadOnlyList<GribMessage> messages;
            try { messages = GribFile.Read(path); }
            catch (GribFormatException) { continue; }
            foreach (var field in messages.SelectMany(m => m.Fields).Where(f => f.DataRepresentationTemplateNumber == 40 && f.BitsPerValue > 0))
            {
                var data = field.Section7.Span[5..];
                var n = field.NumberOfValues;
                var expected = Jpeg2000Packing.OpenJpegIntegers(data, n, 0);
                AssertSame(expected, Ours(data, n), $"{Path.GetFileName(path)} message at {field.Message.Offset}");
                compared++;
            }
        }
        Assert.True(compared >= 100, $"{compared} JPEG 2000 fields compared");
    }

    /// <summary>A GRIB-like field: a smooth surface plus noise, scaled to <paramref name="prec"/> bits.</summary>
    internal static int[] Field(int w, int h, int prec, bool signed, int seed)
    {
        var rng = new Random(seed);
        var v = new int[w * h];
        long max = (1L << prec) - 1;
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var smooth = 0.5 + 0.35 * Math.Sin(x * 0.07 + seed) * Math.Cos(y * 0.05) + 0.1 * Math.Sin((x + y) * 0.3);
            var value = (long)(smooth * max) + rng.Next(-3, 4) * Math.Max(1, max >> 8);
            value = Math.Clamp(value, 0, max);
            v[y * w + x] = (int)(signed ? value - (1L << (prec - 1)) : value);
        }
        return v;
    }

    public static TheoryData<string, int, int, int, bool> Streams()
    {
        var data = new TheoryData<string, int, int, int, bool>();
        void Add(string name, int w, int h, int prec, bool signed = false) => data.Add(name, w, h, prec, signed);
        foreach (var prec in (int[])[1, 4, 8, 12, 16, 20, 24]) Add("default", 97, 61, prec);
        Add("signed", 80, 50, 12, true);
        Add("signed", 40, 33, 16, true);
        Add("9/7", 97, 61, 12);
        Add("9/7", 128, 128, 16);
        Add("9/7 signed", 50, 41, 10, true);
        Add("9/7 layers", 90, 70, 12);
        Add("9/7 levels 0", 40, 30, 8);
        foreach (var levels in (int[])[0, 1, 2, 3, 6]) Add($"levels {levels}", 137, 75, 12);
        Add("one row levels 0", 1000, 1, 12);
        // One-row images (OpenJPEG encodes them without levels only; the corpus has one-row HL bands too)
        foreach (var mode in (int[])[1, 2, 8, 16, 32, 2 | 4 | 8 | 16 | 32]) Add($"one row mode {mode}", 3000, 1, 16);
        Add("one row layers 3", 3000, 1, 16);
        Add("one row signed levels 0", 2000, 1, 12, true);
        Add("one column levels 0", 1, 300, 12);
        Add("one sample levels 0", 1, 1, 12);
        Add("tiny levels 1", 3, 2, 8);
        Add("two rows levels 1", 500, 2, 12);
        Add("code-blocks 32x32", 150, 90, 12);
        Add("code-blocks 16x64", 150, 90, 12);
        Add("code-blocks 4x4", 40, 30, 10);
        Add("code-blocks 128x8", 300, 40, 10);
        Add("layers 3", 120, 80, 12);
        foreach (var order in (int[])[1, 2, 3, 4]) Add($"order {order}", 120, 80, 12);
        foreach (var order in (int[])[0, 1, 2, 3, 4]) Add($"order {order} precincts layers", 130, 95, 12);
        Add("precincts", 200, 130, 12);
        Add("tiles", 150, 100, 12);
        Add("tiles odd", 101, 77, 12);
        Add("tiles 9/7", 150, 100, 12);
        Add("origin", 90, 60, 12);
        Add("origin tiles", 90, 60, 12);
        foreach (var mode in (int[])[1, 2, 4, 8, 16, 32, 1 | 4, 1 | 2 | 4 | 8 | 16 | 32, 8 | 2]) Add($"mode {mode}", 130, 70, 16);
        Add("mode 1 9/7 layers", 130, 70, 16);
        Add("roi", 100, 60, 12);
        Add("sop eph", 100, 60, 12);
        Add("sop eph layers precincts", 100, 60, 12);
        Add("jp2", 60, 40, 12);
        Add("poc", 120, 90, 12);
        return data;
    }

    internal static J2kOptions Options(string name) => name switch
    {
        _ when name.StartsWith("one row mode ") => new J2kOptions { Mode = int.Parse(name[13..]), Levels = 0 },
        "one row layers 3" => new J2kOptions { Layers = 3, Levels = 0 },
        _ when name.StartsWith("9/7 layers") => new J2kOptions { Irreversible = true, Layers = 3 },
        _ when name.StartsWith("9/7 levels 0") => new J2kOptions { Irreversible = true, Levels = 0 },
        _ when name.StartsWith("9/7") => new J2kOptions { Irreversible = true },
        _ when name.StartsWith("levels ") => new J2kOptions { Levels = int.Parse(name[7..]) },
        _ when name.EndsWith("levels 0") => new J2kOptions { Levels = 0 },
        _ when name.EndsWith("levels 1") => new J2kOptions { Levels = 1 },
        "code-blocks 32x32" => new J2kOptions { CodeBlockWidth = 32, CodeBlockHeight = 32 },
        "code-blocks 16x64" => new J2kOptions { CodeBlockWidth = 16, CodeBlockHeight = 64 },
        "code-blocks 4x4" => new J2kOptions { CodeBlockWidth = 4, CodeBlockHeight = 4, Levels = 2 },
        "code-blocks 128x8" => new J2kOptions { CodeBlockWidth = 128, CodeBlockHeight = 8 },
        "layers 3" => new J2kOptions { Layers = 3 },
        _ when name.StartsWith("order ") && name.EndsWith("layers") =>
            new J2kOptions { Order = name[6] - '0', Layers = 2, Precincts = [64, 32, 32, 16, 16, 16], Levels = 4 },
        _ when name.StartsWith("order ") => new J2kOptions { Order = name[6] - '0' },
        "precincts" => new J2kOptions { Precincts = [128, 64, 32, 16, 8, 4] },
        "tiles" => new J2kOptions { TileWidth = 64, TileHeight = 48 },
        "tiles odd" => new J2kOptions { TileWidth = 37, TileHeight = 29, Levels = 3 },
        "tiles 9/7" => new J2kOptions { TileWidth = 64, TileHeight = 64, Irreversible = true },
        "origin" => new J2kOptions { X0 = 13, Y0 = 7 },
        "origin tiles" => new J2kOptions { X0 = 5, Y0 = 3, TileWidth = 32, TileHeight = 32, Levels = 3 },
        "mode 1 9/7 layers" => new J2kOptions { Mode = 1, Irreversible = true, Layers = 3 },
        _ when name.StartsWith("mode ") => new J2kOptions { Mode = int.Parse(name[5..]) },
        "roi" => new J2kOptions { RoiShift = 5 },
        "sop eph" => new J2kOptions { Sop = true, Eph = true },
        "sop eph layers precincts" => new J2kOptions { Sop = true, Eph = true, Layers = 2, Precincts = [32, 32, 16, 16, 16, 16] },
        "jp2" => new J2kOptions { Jp2 = true },
        "poc" => new J2kOptions { Poc = true, Layers = 2 },
        _ => new J2kOptions(),
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public void Should_give_OpenJPEGs_integers_when_OpenJPEG_encoded_the_stream(string name, int w, int h, int prec, bool signed)
    {
        var options = Options(name);
        var samples = Field(w, h, prec, signed, w * 31 + h);
        var stream = OpenJpegEncoder.Encode(samples, w, h, prec, signed, options);
        var expected = Jpeg2000Packing.OpenJpegIntegers(stream, w * h, 0);
        if (!options.Irreversible && options.Layers == 1 && options.RoiShift == 0)
            AssertSame(samples, expected, $"OpenJPEG round trip ({options})"); // lossless: the stream is what we think
        AssertSame(expected, Ours(stream, w * h), $"{name} {w}x{h} {prec} bits{(signed ? " signed" : "")} ({options})");
    }
}
