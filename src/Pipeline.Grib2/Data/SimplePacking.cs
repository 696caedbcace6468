using System.Buffers;
using System.Runtime.CompilerServices;

namespace Pipeline.Grib2.Data;

/// <summary>Template 5.0 grid point simple packing (and the integer stage of 5.61).</summary>
internal static class SimplePacking
{
    private const int Chunk = 4096;

    public static void Decode(GribField field, Span<double> dest)
    {
        var s5 = field.Section5.Span;
        var h = SimpleHeader.Read(s5, field.Offsets.S5);
        Unpack(field, h, dest);
    }

    /// <summary>Unpacks <paramref name="dest"/>.Length values of section 7 as simple packing with header <paramref name="h"/>.</summary>
    public static void Unpack(GribField field, SimpleHeader h, Span<double> dest)
    {
        var n = dest.Length;
        var bits = h.BitsPerValue;
        if (bits == 0)
        {
            // ecCodes returns the reference value unscaled for a constant field.
            dest.Fill(h.Reference);
            return;
        }
        if (bits > 32)
            throw new GribFormatException($"{bits} bits per value: simple packing supports at most 32", field.Offsets.S5, 5);
        var data = field.Section7.Span[5..];
        var need = BitUnpack.BytesFor(n, bits);
        if (need > data.Length)
            throw new GribFormatException(
                $"section 7 holds {data.Length} bytes of data, {n} values of {bits} bits need {need}", field.Offsets.S7, 7);
        var scaling = h.Scaling;
        if (bits is 1 or 2 or 4 or 8 && n >= 1024)
        {
            ExpandSmall(data, bits, scaling, dest);
            return;
        }
        if (bits == 16)
        {
            VectorScale.FromBigEndianUInt16(data[..(2 * n)], dest, scaling);
            return;
        }
        var buffer = ArrayPool<uint>.Shared.Rent(Math.Min(Chunk, n));
        try
        {
            for (var start = 0; start < n; start += Chunk)
            {
                var count = Math.Min(Chunk, n - start);
                var ints = buffer.AsSpan(0, count);
                BitUnpack.Unpack(data, (long)start * bits, bits, ints);
                VectorScale.FromUInt32(ints, dest.Slice(start, count), bits < 32, scaling);
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// 1, 2, 4 or 8 bits per value: at most 256 distinct values, so each is scaled once into a table (the same
    /// arithmetic, so the same doubles) and every byte of section 7 expands to 8, 4, 2 or 1 table entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExpandSmall(ReadOnlySpan<byte> data, int bits, Scaling scaling, Span<double> dest)
    {
        var n = dest.Length;
        Span<double> table = stackalloc double[256];
        var levels = 1 << bits;
        for (var v = 0; v < levels; v++) table[v] = scaling.Apply(v);
        var perByte = 8 / bits;
        var fullBytes = n / perByte;
        var src = data[..(int)BitUnpack.BytesFor(n, bits)];
        var i = 0;
        switch (bits)
        {
            case 8:
                for (var b = 0; b < fullBytes; b++) dest[b] = table[src[b]];
                i = fullBytes;
                break;
            case 4:
                for (var b = 0; b < fullBytes; b++, i += 2)
                {
                    var x = src[b];
                    dest[i] = table[x >> 4];
                    dest[i + 1] = table[x & 15];
                }
                break;
            case 2:
                for (var b = 0; b < fullBytes; b++, i += 4)
                {
                    var x = src[b];
                    dest[i] = table[x >> 6];
                    dest[i + 1] = table[(x >> 4) & 3];
                    dest[i + 2] = table[(x >> 2) & 3];
                    dest[i + 3] = table[x & 3];
                }
                break;
            default:
                for (var b = 0; b < fullBytes; b++, i += 8)
                {
                    var x = src[b];
                    for (var k = 0; k < 8; k++) dest[i + k] = table[(x >> (7 - k)) & 1];
                }
                break;
        }
        for (; i < n; i++) dest[i] = table[(int)BitUnpack.Read(src, (long)i * bits, bits)];
    }
}
