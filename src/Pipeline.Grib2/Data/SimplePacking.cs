using System.Buffers;

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
        var buffer = ArrayPool<uint>.Shared.Rent(Math.Min(Chunk, n));
        try
        {
            for (var start = 0; start < n; start += Chunk)
            {
                var count = Math.Min(Chunk, n - start);
                var ints = buffer.AsSpan(0, count);
                BitUnpack.Unpack(data, (long)start * bits, bits, ints);
                scaling.Apply(ints, dest.Slice(start, count));
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(buffer);
        }
    }
}
