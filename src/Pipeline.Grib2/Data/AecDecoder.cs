using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pipeline.Grib2.Data;

/// <summary>
/// CCSDS 121.0-B adaptive entropy decoder (block-adaptive Rice coding: zero-block, second-extension, split-sample and
/// uncompressed options, reference samples every RSI blocks, optional unit-delay predictor), for unsigned samples, in the
/// layout libaec reads (flags: preprocessing 8, restricted 16; RSI padding 32 is left to libaec, see Supports). It decodes one reference sample interval
/// at a time into a small pooled buffer, undoes the prediction there and scales straight into the destination: the same
/// integers as libaec's aec_buffer_decode, so the same doubles as ecCodes.
/// </summary>
internal static class AecDecoder
{
    public const int FlagSigned = 1, FlagPreprocess = 8, FlagRestricted = 16, FlagPadRsi = 32;

    // Second-extension table (CCSDS 121.0-B 5.1.4): code m -> (beta, first m of that beta).
    private static readonly byte[] SeBeta = BuildSe(true);
    private static readonly byte[] SeBase = BuildSe(false);

    private static byte[] BuildSe(bool beta)
    {
        var t = new byte[91];
        var k = 0;
        for (var i = 0; i < 13; i++)
        {
            var ms = k;
            for (var j = 0; j <= i; j++, k++) t[k] = (byte)(beta ? i : ms);
        }
        return t;
    }

    /// <summary>Whether this decoder handles the parameters (else the caller uses libaec).</summary>
    public static bool Supports(int bits, int flags) =>
        bits is >= 1 and <= 32 && (flags & (FlagSigned | FlagPadRsi)) == 0 && ((flags & FlagRestricted) == 0 || bits <= 4);

    /// <summary>Decode <c>dest.Length</c> samples from <paramref name="input"/> and write (x * b + r) * d.</summary>
    public static unsafe void Decode(ReadOnlySpan<byte> input, int bits, int blockSize, int rsi, int flags, Span<double> dest,
        in Scaling scaling, long at7)
    {
        var n = dest.Length;
        var pp = (flags & FlagPreprocess) != 0;
        var idLen = (flags & FlagRestricted) != 0 && bits <= 4 ? (bits <= 2 ? 1 : 2) : bits > 16 ? 5 : bits > 8 ? 4 : 3;
        var rsiSamples = rsi * blockSize;
        var scratch = ArrayPool<uint>.Shared.Rent(rsiSamples);
        // The stream with zero padding behind it, so that every refill reads 8 bytes without a bounds test; reading
        // into the padding is what Overrun reports.
        var padded = ArrayPool<byte>.Shared.Rent(input.Length + Padding);
        try
        {
            input.CopyTo(padded);
            padded.AsSpan(input.Length, Padding).Clear();
            fixed (byte* p = padded)
            fixed (uint* o = scratch)
            {
                var state = new ReaderState { Pos = 0, Avail = 0, Acc = 0 };
                var done = 0;
                while (done < n)
                {
                    var want = Math.Min(rsiSamples, n - done);
                    DecodeRsi(p, input.Length, ref state, o, want, bits, blockSize, rsi, pp, idLen, at7);
                    if ((long)state.Pos * 8 - state.Avail > (long)input.Length * 8)
                        throw new GribFormatException(
                            $"the CCSDS stream ends after {input.Length} bytes, before the {n} values section 5 announces (at value {done})", at7, 7);
                    var block = new Span<uint>(o, want);
                    if (pp) Unpredict(o, want, bits);
                    VectorScale.FromUInt32(block, dest.Slice(done, want), bits < 32, scaling);
                    done += want;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(padded);
            ArrayPool<uint>.Shared.Return(scratch);
        }
    }

    private const int Padding = 64;

    /// <summary>MSB-first bit reader state: acc holds the next bits from bit 63; the first Avail of them end at byte Pos.</summary>
    private struct ReaderState
    {
        public ulong Acc;
        public int Avail;
        public int Pos;
    }

    /// <summary>
    /// One RSI: blocks until at least <paramref name="want"/> mapped residuals are in <paramref name="o"/>. The reader
    /// lives in locals (acc, avail, pos) so the JIT keeps it in registers; Refill and the unary reads are written out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DecodeRsi(byte* p, int length, ref ReaderState state, uint* o, int want, int bits,
        int blockSize, int rsi, bool pp, int idLen, long at7)
    {
        var acc = state.Acc;
        var avail = state.Avail;
        var pos = state.Pos;
        var limit = length + 16; // past this, the stream has ended in the middle of a code (Padding covers the read)
        var uncompId = (1 << idLen) - 1;
        var count = 0;
        var block = 0;
        while (count < want)
        {
            var refSample = pp && block == 0 ? 1 : 0;
            // Refill to at least 56 bits: enough for the id, the second-extension bit and a 32-bit reference.
            if (avail < 56)
            {
                if (pos > limit) throw Ended(length, at7);
                acc |= BinaryPrimitives.ReverseEndianness(*(ulong*)(p + pos)) >> avail;
                pos += (63 - avail) >> 3;
                avail |= 56;
            }
            var id = (int)(acc >> (64 - idLen));
            acc <<= idLen;
            avail -= idLen;
            if (id == 0)
            {
                var second = (int)(acc >> 63);
                acc <<= 1;
                avail -= 1;
                if (refSample == 1)
                {
                    o[count++] = (uint)(acc >> (64 - bits));
                    acc <<= bits;
                    avail -= bits;
                }
                if (second == 1)
                {
                    // Second extension: pairs coded as one fundamental sequence.
                    var i = refSample;
                    while (i < blockSize)
                    {
                        uint m;
                        var z = BitOperations.LeadingZeroCount(acc);
                        if (z < avail)
                        {
                            acc <<= z + 1;
                            avail -= z + 1;
                            m = (uint)z;
                        }
                        else
                        {
                            m = 0;
                            while (true)
                            {
                                m += (uint)avail;
                                if (pos > limit) throw Ended(length, at7);
                                acc = BinaryPrimitives.ReverseEndianness(*(ulong*)(p + pos));
                                pos += 7;
                                avail = 56;
                                z = BitOperations.LeadingZeroCount(acc);
                                if (z < avail) break;
                            }
                            acc <<= z + 1;
                            avail -= z + 1;
                            m += (uint)z;
                        }
                        if (m > 90)
                            throw new GribFormatException($"the CCSDS stream has a second-extension code {m} (at most 90)", at7, 7);
                        var d1 = m - SeBase[(int)m];
                        if ((i & 1) == 0)
                        {
                            o[count++] = SeBeta[(int)m] - d1;
                            i++;
                        }
                        o[count++] = d1;
                        i++;
                    }
                    block++;
                }
                else
                {
                    uint fs;
                    (fs, acc, avail, pos) = ReadUnary(p, acc, avail, pos, limit, length, at7);
                    var zeroBlocks = (int)fs + 1;
                    if (zeroBlocks == 5) zeroBlocks = Math.Min(rsi - block, 64 - block % 64); // remainder of segment
                    else if (zeroBlocks > 5) zeroBlocks--;
                    if (block + zeroBlocks > rsi)
                        throw new GribFormatException(
                            $"the CCSDS stream has a run of {zeroBlocks} zero blocks past the end of a reference sample interval", at7, 7);
                    var zeros = zeroBlocks * blockSize - refSample;
                    new Span<uint>(o + count, zeros).Clear();
                    count += zeros;
                    block += zeroBlocks;
                }
            }
            else if (id == uncompId)
            {
                for (var i = 0; i < blockSize; i++)
                {
                    if (avail < bits)
                    {
                        if (pos > limit) throw Ended(length, at7);
                        acc |= BinaryPrimitives.ReverseEndianness(*(ulong*)(p + pos)) >> avail;
                        pos += (63 - avail) >> 3;
                        avail |= 56;
                    }
                    o[count++] = (uint)(acc >> (64 - bits));
                    acc <<= bits;
                    avail -= bits;
                }
                block++;
            }
            else
            {
                var k = id - 1;
                if (refSample == 1)
                {
                    o[count++] = (uint)(acc >> (64 - bits));
                    acc <<= bits;
                    avail -= bits;
                }
                var start = o + count;
                var end = o + count + blockSize - refSample;
                for (var q = start; q < end; q++)
                {
                    var z = BitOperations.LeadingZeroCount(acc);
                    if (z < avail)
                    {
                        acc <<= z + 1;
                        avail -= z + 1;
                        *q = (uint)z << k;
                    }
                    else
                    {
                        uint fs;
                        (fs, acc, avail, pos) = ReadUnary(p, acc, avail, pos, limit, length, at7);
                        *q = fs << k;
                    }
                }
                if (k > 0)
                {
                    for (var q = start; q < end; q++)
                    {
                        if (avail < k)
                        {
                            if (pos > limit) throw Ended(length, at7);
                            acc |= BinaryPrimitives.ReverseEndianness(*(ulong*)(p + pos)) >> avail;
                            pos += (63 - avail) >> 3;
                            avail |= 56;
                        }
                        *q |= (uint)(acc >> (64 - k));
                        acc <<= k;
                        avail -= k;
                    }
                }
                count += blockSize - refSample;
                block++;
            }
        }
        state.Acc = acc;
        state.Avail = avail;
        state.Pos = pos;
    }

    /// <summary>
    /// A fundamental sequence: the number of 0 bits before the next 1 bit (which is consumed). The reader goes in and
    /// out by value, so the caller's locals stay in registers.
    /// </summary>
    private static unsafe (uint M, ulong Acc, int Avail, int Pos) ReadUnary(byte* p, ulong acc, int avail, int pos, int limit, int length, long at7)
    {
        uint m = 0;
        while (true)
        {
            var z = BitOperations.LeadingZeroCount(acc);
            if (z < avail)
            {
                return (m + (uint)z, acc << (z + 1), avail - (z + 1), pos);
            }
            // The avail bits are all 0: take them, then start afresh at byte pos.
            m += (uint)avail;
            if (pos > limit) throw Ended(length, at7);
            acc = BinaryPrimitives.ReverseEndianness(*(ulong*)(p + pos));
            pos += 7;
            avail = 56;
        }
    }

    private static GribFormatException Ended(int length, long at7) =>
        new($"the CCSDS stream ends in the middle of a code (after {length} bytes)", at7, 7);

    /// <summary>Undo the unit-delay predictor and the mapping of CCSDS 121.0-B 4.3 (unsigned samples, x in [0, 2^n-1]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Unpredict(uint* x, int n, int bits)
    {
        if (n == 0) return;
        var xmax = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var med = xmax / 2 + 1;
        var data = x[0];
        for (var i = 1; i < n; i++)
        {
            var d = x[i];
            var halfD = (d >> 1) + (d & 1);
            var mask = (data & med) != 0 ? xmax : 0;
            if (halfD <= (mask ^ data)) data += (d >> 1) ^ ~((d & 1) - 1);
            else data = mask ^ d;
            x[i] = data;
        }
    }
}
