using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Pipeline.Grib2.Data;

/// <summary>Template 5.4: IEEE floating point, 32 or 64 bit, big-endian.</summary>
internal static class IeeePacking
{
    public static void Decode(GribField field, Span<double> dest)
    {
        var s5 = field.Section5.Span;
        if (s5.Length < 12)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, template 5.4 needs 12", field.Offsets.S5, 5);
        var precision = s5[11];
        var size = precision switch
        {
            1 => 4,
            2 => 8,
            _ => throw new GribFormatException($"IEEE precision {precision} (code table 5.7) is not supported; 1 and 2 are", field.Offsets.S5, 5),
        };
        var data = field.Section7.Span[5..];
        var n = dest.Length;
        if ((long)n * size > data.Length)
            throw new GribFormatException(
                $"section 7 holds {data.Length} bytes, {n} IEEE values of {size} bytes need {(long)n * size}", field.Offsets.S7, 7);
        if (size == 8)
        {
            var src = MemoryMarshal.Cast<byte, long>(data[..(n * 8)]);
            var d = MemoryMarshal.Cast<double, long>(dest);
            BinaryPrimitives.ReverseEndianness(src, d);
        }
        else
        {
            for (var i = 0; i < n; i++) dest[i] = BinaryPrimitives.ReadSingleBigEndian(data.Slice(i * 4, 4));
        }
    }
}
