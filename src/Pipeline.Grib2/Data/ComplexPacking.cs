using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pipeline.Grib2.Data;

/// <summary>
/// Templates 5.2 (complex packing) and 5.3 (complex packing with spatial differencing of order 1 or 2), with
/// primary and secondary missing values inside the data (returned as NaN). Integers are carried in the
/// destination doubles (exact below 2^53), so decoding allocates nothing beyond the output.
/// </summary>
internal static class ComplexPacking
{
    public static void Decode(GribField field, Span<double> dest)
    {
        var s5 = field.Section5.Span;
        var at5 = field.Offsets.S5;
        var template = field.DataRepresentationTemplateNumber;
        var minLength = template == 3 ? 49 : 47;
        if (s5.Length < minLength)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, template 5.{template} needs {minLength}", at5, 5);
        var h = SimpleHeader.Read(s5, at5);
        var missingManagement = s5[22];
        long groups = Be.U32(s5, 31);
        int refWidth = s5[35], bitsWidth = s5[36];
        long refLength = Be.U32(s5, 37);
        int lengthIncrement = s5[41];
        long lastLength = Be.U32(s5, 42);
        int bitsLength = s5[46];
        int order = 0, extraOctets = 0;
        if (template == 3)
        {
            order = s5[47];
            extraOctets = s5[48];
            if (order > 2)
                throw new GribFormatException($"order of spatial differencing {order} is not supported (1 or 2)", at5, 5);
            if (order > 0 && extraOctets is 0 or > 4)
                throw new GribFormatException($"{extraOctets} octets per extra descriptor: 1 to 4 are valid", at5, 5);
        }
        var nbits = h.BitsPerValue;
        if (nbits > 32 || bitsWidth > 32 || bitsLength > 32)
            throw new GribFormatException(
                $"bit counts out of range (values {nbits}, group widths {bitsWidth}, group lengths {bitsLength}; at most 32)", at5, 5);
        if (missingManagement > 2)
            throw new GribFormatException($"missing value management {missingManagement} (code table 5.5) is not defined", at5, 5);

        var n = dest.Length;
        var at7 = field.Offsets.S7;
        var data = field.Section7.Span[5..];
        long dataBits = (long)data.Length * 8;
        if (n == 0) return;
        if (groups == 0 || groups > n)
            throw new GribFormatException($"{groups} groups for {n} values", at5, 5);

        // Layout of section 7: [extras][group references][widths][lengths][values], each part octet-aligned.
        long extrasBits = order > 0 ? (order + 1L) * extraOctets * 8 : 0;
        long refStart = 0;
        long widthStart = ((extrasBits + groups * nbits + 7) >> 3) * 8;
        long lengthStart = widthStart + ((groups * bitsWidth + 7) >> 3) * 8;
        long valuesStart = lengthStart + ((groups * bitsLength + 7) >> 3) * 8;
        if (valuesStart > dataBits)
            throw new GribFormatException(
                $"section 7 holds {data.Length} bytes, the descriptors of {groups} groups need {valuesStart / 8}", at7, 7);

        long ext0 = 0, ext1 = 0, bias = 0;
        if (order > 0)
        {
            var eb = extraOctets * 8;
            ext0 = (long)BitUnpack.Read(data, 0, eb);
            if (order == 2) ext1 = (long)BitUnpack.Read(data, eb, eb);
            var raw = (long)BitUnpack.Read(data, (long)order * eb, eb);
            var sign = 1L << (eb - 1);
            bias = (raw & sign) != 0 ? -(raw & (sign - 1)) : raw;
        }

        var scaling = h.Scaling;
        var scaleNow = order == 0; // without differencing, scale as we unpack
        long refPos = refStart + extrasBits, widthPos = widthStart, lengthPos = lengthStart, valPos = valuesStart;
        long count = 0;
        long maxRef = nbits == 0 ? 0 : (1L << nbits) - 1;
        ref var d0 = ref MemoryMarshal.GetReference(dest);
        ref var s0 = ref MemoryMarshal.GetReference(data);
        double b = scaling.Binary, r = scaling.Reference, dd = scaling.Decimal;
        for (long g = 0; g < groups; g++)
        {
            long groupRef = (long)BitUnpack.Read(data, refPos, nbits);
            refPos += nbits;
            long width = (long)BitUnpack.Read(data, widthPos, bitsWidth) + refWidth;
            widthPos += bitsWidth;
            long length = g == groups - 1
                ? lastLength
                : (long)BitUnpack.Read(data, lengthPos, bitsLength) * lengthIncrement + refLength;
            lengthPos += bitsLength;
            if (width > 32)
                throw new GribFormatException($"group {g} is {width} bits wide (at most 32)", at7, 7);
            if (length > n - count)
                throw new GribFormatException(
                    $"group lengths exceed the {n} values of section 5 (group {g} of {groups})", at7, 7);
            var len = (int)length;
            var start = (int)count;
            count += length;
            if (width == 0)
            {
                double v;
                if (missingManagement != 0 && (groupRef == maxRef || (missingManagement == 2 && groupRef == maxRef - 1)))
                    v = double.NaN;
                else
                    v = scaleNow ? (groupRef * b + r) * dd : groupRef;
                dest.Slice(start, len).Fill(v);
                continue;
            }
            var endBits = valPos + length * width;
            if (endBits > dataBits)
                throw new GribFormatException(
                    $"section 7 ends inside group {g} (needs {(endBits + 7) / 8} bytes of data, has {data.Length})", at7, 7);
            var w = (int)width;
            var down = 64 - w;
            var pos = valPos;
            var fastEnd = (endBits >> 3) + 8 <= data.Length;
            if (missingManagement == 0 && fastEnd)
            {
                if (scaleNow)
                {
                    for (var j = 0; j < len; j++)
                    {
                        var word = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref s0, (nint)(pos >> 3))));
                        var x = (long)((word << (int)(pos & 7)) >> down) + groupRef;
                        Unsafe.Add(ref d0, start + j) = (x * b + r) * dd;
                        pos += w;
                    }
                }
                else
                {
                    for (var j = 0; j < len; j++)
                    {
                        var word = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref s0, (nint)(pos >> 3))));
                        Unsafe.Add(ref d0, start + j) = (long)((word << (int)(pos & 7)) >> down) + groupRef;
                        pos += w;
                    }
                }
            }
            else
            {
                long maxn = (1L << w) - 1;
                long maxn2 = missingManagement == 2 ? maxn - 1 : -1;
                for (var j = 0; j < len; j++)
                {
                    var x = (long)BitUnpack.Read(data, pos, w);
                    pos += w;
                    if (missingManagement != 0 && (x == maxn || x == maxn2))
                        dest[start + j] = double.NaN;
                    else
                        dest[start + j] = scaleNow ? ((x + groupRef) * b + r) * dd : x + groupRef;
                }
            }
            valPos = endBits;
        }
        if (count != n)
            throw new GribFormatException($"the groups hold {count} values, section 5 says {n}", at7, 7);
        if (order == 0) return;
        Undifference(dest, order, ext0, ext1, bias, scaling);
    }

    /// <summary>Reverses spatial differencing over the non-missing values and scales (ecCodes' post_process).</summary>
    private static void Undifference(Span<double> v, int order, long ext0, long ext1, long bias, Scaling scaling)
    {
        double b = scaling.Binary, r = scaling.Reference, dd = scaling.Decimal;
        var j = 0;
        var n = v.Length;
        while (j < n && double.IsNaN(v[j])) j++;
        if (j == n) return;
        long last = ext0, penultimate = 0;
        v[j++] = (ext0 * b + r) * dd;
        if (order == 1)
        {
            for (; j < n; j++)
            {
                var x = v[j];
                if (double.IsNaN(x)) continue;
                last += (long)x + bias;
                v[j] = (last * b + r) * dd;
            }
            return;
        }
        while (j < n && double.IsNaN(v[j])) j++;
        if (j == n) return;
        penultimate = ext0;
        last = ext1;
        v[j++] = (ext1 * b + r) * dd;
        for (; j < n; j++)
        {
            var x = v[j];
            if (double.IsNaN(x)) continue;
            var z = (long)x + bias + last + last - penultimate;
            penultimate = last;
            last = z;
            v[j] = (z * b + r) * dd;
        }
    }
}
