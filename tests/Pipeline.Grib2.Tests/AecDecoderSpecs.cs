using System.Runtime.InteropServices;
using Pipeline.Grib2.Data;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// The C# CCSDS decoder (AecDecoder) against libaec, the library ecCodes uses: streams that libaec's own encoder
/// writes over every sample width, block size, interval and option, then the corpus's template 5.42 messages.
/// </summary>
public sealed unsafe class AecDecoderSpecs
{
    private const int Preprocess = 8, Restricted = 16, PadRsi = 32;


    [StructLayout(LayoutKind.Sequential)]
    private struct AecStream
    {
        public byte* NextIn;
        public nuint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public nuint TotalOut;
        public uint BitsPerSample;
        public uint BlockSize;
        public uint Rsi;
        public uint Flags;
        public void* State;
    }

    private static readonly nint Lib = NativeLibrary.Load("libaec.so.0");
    private static readonly delegate* unmanaged<AecStream*, int> Encode =
        (delegate* unmanaged<AecStream*, int>)NativeLibrary.GetExport(Lib, "aec_buffer_encode");
    private static readonly delegate* unmanaged<AecStream*, int> DecodeNative =
        (delegate* unmanaged<AecStream*, int>)NativeLibrary.GetExport(Lib, "aec_buffer_decode");

    private static int SampleBytes(int bits) => bits <= 8 ? 1 : bits <= 16 ? 2 : 4;

    private static byte[] LibaecEncode(uint[] samples, int bits, int blockSize, int rsi, int flags)
    {
        var nb = SampleBytes(bits);
        var raw = new byte[samples.Length * nb];
        for (var i = 0; i < samples.Length; i++)
            for (var b = 0; b < nb; b++) raw[i * nb + b] = (byte)(samples[i] >> (8 * b));
        var output = new byte[raw.Length * 2 + 1024];
        fixed (byte* pin = raw)
        fixed (byte* pout = output)
        {
            var s = new AecStream
            {
                NextIn = pin, AvailIn = (nuint)raw.Length, NextOut = pout, AvailOut = (nuint)output.Length,
                BitsPerSample = (uint)bits, BlockSize = (uint)blockSize, Rsi = (uint)rsi, Flags = (uint)flags,
            };
            Assert.Equal(0, Encode(&s));
            return output[..(int)s.TotalOut];
        }
    }

    /// <summary>libaec's decode of the stream, or null when libaec cannot read back what it wrote.</summary>
    private static uint[]? LibaecDecode(byte[] stream, int n, int bits, int blockSize, int rsi, int flags)
    {
        var nb = SampleBytes(bits);
        var raw = new byte[n * nb];
        fixed (byte* pin = stream)
        fixed (byte* pout = raw)
        {
            var s = new AecStream
            {
                NextIn = pin, AvailIn = (nuint)stream.Length, NextOut = pout, AvailOut = (nuint)raw.Length,
                BitsPerSample = (uint)bits, BlockSize = (uint)blockSize, Rsi = (uint)rsi, Flags = (uint)flags,
            };
            if (DecodeNative(&s) != 0 || s.TotalOut != (nuint)raw.Length) return null;
        }
        var result = new uint[n];
        for (var i = 0; i < n; i++)
            for (var b = 0; b < nb; b++) result[i] |= (uint)raw[i * nb + b] << (8 * b);
        return result;
    }

    private static double[] Managed(byte[] stream, int n, int bits, int blockSize, int rsi, int flags)
    {
        var dest = new double[n];
        AecDecoder.Decode(stream, bits, blockSize, rsi, flags, dest, new Scaling(0, 0, 0), 0);
        return dest;
    }

    /// <summary>Random data, a smooth random walk, and long flat runs with rare spikes (zero blocks, remainder-of-segment).</summary>
    private static uint[] Samples(Random rng, int n, int bits, int pattern)
    {
        var max = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var x = new uint[n];
        long walk = max / 2;
        for (var i = 0; i < n; i++)
        {
            switch (pattern)
            {
                case 0:
                    x[i] = (uint)(rng.NextInt64(0, (long)max + 1));
                    break;
                case 1:
                    walk = Math.Clamp(walk + rng.Next(-3, 4), 0, max);
                    x[i] = (uint)walk;
                    break;
                default:
                    x[i] = rng.Next(2000) == 0 ? (uint)rng.NextInt64(0, (long)max + 1) : (i / 5000 % 2 == 0 ? 0 : max);
                    break;
            }
        }
        return x;
    }

    [Fact]
    public void Should_decode_what_libaec_decodes_when_streams_cover_every_option()
    {
        var rng = new Random(42);
        var cases = 0;
        foreach (var bits in (int[])[1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 20, 24, 31, 32])
        foreach (var blockSize in (int[])[8, 16, 32, 64])
        foreach (var rsi in (int[])[1, 3, 128])
        foreach (var flags in (int[])[Preprocess, 0, Preprocess | Restricted, Restricted])
        {
            if ((flags & Restricted) != 0 && bits > 4) continue;
            var pattern = cases % 3;
            var n = pattern == 2 ? 20_011 : 1 + rng.Next(3000);
            var samples = Samples(rng, n, bits, pattern);
            var stream = LibaecEncode(samples, bits, blockSize, rsi, flags);
            var expected = LibaecDecode(stream, n, bits, blockSize, rsi, flags);
            Assert.True(expected is not null, $"libaec cannot decode its own stream: bits {bits} block {blockSize} rsi {rsi} flags {flags}");
            Assert.True(samples.AsSpan().SequenceEqual(expected), // libaec round trip: the stream is valid
                $"libaec round trip differs: bits {bits} block {blockSize} rsi {rsi} flags {flags} pattern {pattern} n {n}");
            var ours = Managed(stream, n, bits, blockSize, rsi, flags);
            for (var i = 0; i < n; i++)
                if (ours[i] != expected[i])
                    Assert.Fail($"bits {bits} block {blockSize} rsi {rsi} flags {flags} pattern {pattern} n {n}: " +
                                $"sample {i} is {ours[i]}, libaec {expected[i]}");
            cases++;
        }
        Assert.True(cases >= 480, $"{cases} cases compared");
    }

    [Fact]
    public void Should_leave_RSI_padded_and_signed_streams_to_libaec_when_choosing_a_decoder()
    {
        // libaec 1.0.6 does not read back some of its own RSI-padded streams, and signed samples come back
        // unextended: both stay with libaec, as ecCodes has them.
        Assert.False(AecDecoder.Supports(12, Preprocess | PadRsi));
        Assert.False(AecDecoder.Supports(12, Preprocess | 1));
        Assert.False(AecDecoder.Supports(8, Preprocess | Restricted));
        Assert.True(AecDecoder.Supports(12, 14));
        Assert.True(AecDecoder.Supports(3, Preprocess | Restricted));
    }

    [Fact]
    public void Should_name_section_7_when_a_stream_is_truncated()
    {
        var samples = Samples(new Random(7), 10_000, 12, 0);
        var stream = LibaecEncode(samples, 12, 32, 128, Preprocess);
        foreach (var cut in (int[])[0, 1, 100, stream.Length / 2, stream.Length - 3])
        {
            var e = Assert.Throws<GribFormatException>(() => Managed(stream[..cut], samples.Length, 12, 32, 128, Preprocess));
            Assert.Equal(7, e.Section);
        }
    }

    [Fact]
    public void Should_fail_cleanly_or_decode_when_a_stream_is_garbage()
    {
        var rng = new Random(3);
        var outcomes = 0;
        for (var round = 0; round < 300; round++)
        {
            var garbage = new byte[rng.Next(0, 4000)];
            rng.NextBytes(garbage);
            if (round % 3 == 0) Array.Clear(garbage, 0, garbage.Length / 2); // long zero runs: zero blocks, unary runs
            try
            {
                Managed(garbage, 5000, 1 + rng.Next(32), 32, 1 + rng.Next(200), Preprocess);
                outcomes++;
            }
            catch (GribFormatException e)
            {
                Assert.Equal(7, e.Section);
                outcomes++;
            }
        }
        Assert.Equal(300, outcomes);
    }

    [SharedDataFact]
    public void Should_match_libaec_bit_for_bit_when_decoding_the_corpus_ccsds_messages()
    {
        var dir = SharedData.Data("grib2", "real");
        var compared = 0;
        foreach (var path in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            IReadOnlyList<GribMessage> messages;
            try { messages = GribFile.Read(path); }
            catch (GribFormatException) { continue; }
            foreach (var field in messages.SelectMany(m => m.Fields).Where(f => f.DataRepresentationTemplateNumber == 42))
            {
                var nv = field.NumberOfValues;
                var ours = new double[nv];
                var native = new double[nv];
                CcsdsPacking.Decode(field, ours, managed: true);
                CcsdsPacking.Decode(field, native, managed: false);
                Assert.True(MemoryMarshal.AsBytes(ours.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(native.AsSpan())),
                    $"{Path.GetFileName(path)} message at {field.Message.Offset}: the C# decoder differs from libaec");
                compared++;
            }
        }
        Assert.True(compared >= 21, $"{compared} CCSDS fields compared");
    }
}
