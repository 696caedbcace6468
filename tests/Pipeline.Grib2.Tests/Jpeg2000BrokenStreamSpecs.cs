using System.Buffers.Binary;
using System.Diagnostics;
using Pipeline.Grib2.Data;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// Damaged JPEG 2000 code streams given to our decoder: a GribFormatException that names section 7 and its offset,
/// never another exception, a hang or an allocation the stream does not justify.
/// </summary>
public sealed class Jpeg2000BrokenStreamSpecs(ITestOutputHelper output)
{
    private const long At7 = 4242;

    private static byte[] Stream(J2kOptions? options = null, int w = 90, int h = 60, int prec = 12) =>
        OpenJpegEncoder.Encode(Jpeg2000DecoderSpecs.Field(w, h, prec, false, 7), w, h, prec, false, options ?? new J2kOptions());

    private static GribFormatException Fails(byte[] stream, int values)
    {
        var e = Assert.Throws<GribFormatException>(() => Jpeg2000Packing.DecodeIntegers(stream, new int[values], At7));
        Assert.Equal(7, e.Section);
        Assert.Equal(At7, e.Offset);
        Assert.Contains($"offset {At7}", e.Message);
        return e;
    }

    /// <summary>Byte position of the first marker <paramref name="marker"/> in the main header.</summary>
    private static int Find(byte[] s, int marker)
    {
        for (var i = 2; i + 1 < s.Length; i++)
            if (s[i] == 0xFF && s[i + 1] == (marker & 0xFF)) return i;
        throw new InvalidOperationException($"no marker {marker:X4}");
    }

    [Fact]
    public void Should_name_section_7_when_the_stream_is_truncated()
    {
        var s = Stream();
        var sot = Find(s, 0xFF90);
        // Inside the main header, inside the tile-part header, and in the middle of the packets.
        foreach (var cut in (int[])[0, 1, 3, 20, 45, sot + 6, sot + 13])
            Fails(s[..cut], 90 * 60);
        foreach (var cut in (int[])[sot + 20, s.Length / 2, s.Length - 10])
        {
            // JPEG 2000 is progressive: a stream cut between packets may decode (as OpenJPEG decodes it); cut inside
            // a packet it fails. Either way: the right number of values or a GribFormatException about section 7.
            try
            {
                Jpeg2000Packing.DecodeIntegers(s[..cut], new int[90 * 60], At7);
            }
            catch (GribFormatException e)
            {
                Assert.Equal(7, e.Section);
            }
        }
    }

    [Fact]
    public void Should_name_the_problem_when_markers_or_sizes_are_wrong()
    {
        var s = Stream();
        var siz = Find(s, 0xFF51);
        Assert.Contains("SOC", Fails([0x00, .. s[1..]], 90 * 60).Message);

        var wrongMarker = (byte[])s.Clone();
        wrongMarker[siz + 1] = 0x20; // not a marker
        Assert.Contains("marker", Fails(wrongMarker, 90 * 60).Message);

        var components = (byte[])s.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(components.AsSpan(siz + 38), 3);
        Assert.Contains("3 components", Fails(components, 90 * 60).Message);

        var huge = (byte[])s.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(siz + 6), 2_000_000_000); // Xsiz
        Assert.Contains("section 5 says", Fails(huge, 90 * 60).Message);

        var wrongCount = Fails(s, 90 * 61);
        Assert.Contains("90x60", wrongCount.Message);

        var tiles = (byte[])s.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(tiles.AsSpan(siz + 22), 1); // XTsiz: 90 x ... tiles of one column
        BinaryPrimitives.WriteUInt32BigEndian(tiles.AsSpan(siz + 26), 1);
        Assert.Contains("tiles", Fails(tiles, 90 * 60).Message);

        var cod = Find(s, 0xFF52);
        var levels = (byte[])s.Clone();
        levels[cod + 9] = 40;
        Assert.Contains("decomposition levels", Fails(levels, 90 * 60).Message);

        var length = (byte[])s.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(length.AsSpan(cod + 2), 60000);
        Assert.Contains("length", Fails(length, 90 * 60).Message);

        var layers = (byte[])s.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(layers.AsSpan(cod + 6), 65535);
        Assert.Contains("layers", Fails(layers, 90 * 60).Message);
    }

    [Fact]
    public async Task Should_throw_only_GribFormatException_when_jpeg2000_streams_are_mutated()
    {
        J2kOptions[] variants =
        [
            new(), new() { Layers = 3, Precincts = [32, 32, 16, 16, 16, 16] }, new() { Mode = 1 | 4 | 32, Sop = true, Eph = true },
            new() { TileWidth = 32, TileHeight = 32, Levels = 3 }, new() { Irreversible = true, Order = 3 }, new() { Jp2 = true },
            new() { Poc = true, Layers = 2 }, new() { RoiShift = 4, Mode = 2 | 8 },
        ];
        var streams = variants.Select(v => Stream(v, 70, 45)).ToArray();
        var rng = new Random(20261124);
        int decoded = 0, rejected = 0;
        var sw = Stopwatch.StartNew();
        var task = Task.Run(() =>
        {
            for (var i = 0; i < 4000; i++)
            {
                var original = streams[i % streams.Length];
                var m = (byte[])original.Clone();
                switch (rng.Next(4))
                {
                    case 0:
                        for (var k = rng.Next(1, 6); k > 0; k--) m[rng.Next(m.Length)] ^= (byte)rng.Next(1, 256);
                        break;
                    case 1:
                        m = m[..rng.Next(m.Length)];
                        break;
                    case 2: // the headers, where sizes and counts live
                        for (var k = rng.Next(1, 4); k > 0; k--) m[rng.Next(Math.Min(160, m.Length))] = (byte)rng.Next(256);
                        break;
                    default:
                        for (var k = rng.Next(1, 40); k > 0; k--) m[rng.Next(m.Length)] = (byte)rng.Next(256);
                        break;
                }
                var before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    Jpeg2000Packing.DecodeIntegers(m, new int[70 * 45], At7);
                    decoded++;
                }
                catch (GribFormatException e)
                {
                    Assert.Equal(7, e.Section);
                    rejected++;
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"mutation {i} threw {e}");
                }
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.True(allocated < 4L * 1024 * 1024, $"mutation {i} allocated {allocated} bytes");
            }
        });
        // A hang shows as a TimeoutException here.
        await task.WaitAsync(TimeSpan.FromMinutes(3));
        output.WriteLine($"4000 mutations: {decoded} decoded, {rejected} rejected in {sw.Elapsed.TotalSeconds:F1} s");
    }
}
