using System.Numerics;

namespace Pipeline.Grib2.Data;

/// <summary>Dispatches a field to its data representation decoder and spreads values over the bitmap.</summary>
internal static class DataDecoder
{
    /// <summary>Largest grid this reader decodes (2^28 points, 2 GiB of doubles): a guard against hostile sizes.</summary>
    public const int MaxDataPoints = 1 << 28;

    public static void CheckSize(GribField f)
    {
        if (f.NumberOfDataPoints > MaxDataPoints)
            throw new GribFormatException(
                $"{f.NumberOfDataPoints} data points is more than this reader decodes ({MaxDataPoints})", f.Offsets.S3, 3);
        if (f.NumberOfValues > f.NumberOfDataPoints)
            throw new GribFormatException(
                $"{f.NumberOfValues} packed values for {f.NumberOfDataPoints} grid points", f.Offsets.S5, 5);
        if (!f.BitmapPresent && f.NumberOfValues != f.NumberOfDataPoints)
            throw new GribFormatException(
                $"no bitmap, but section 5 has {f.NumberOfValues} values for {f.NumberOfDataPoints} grid points", f.Offsets.S5, 5);
        if (f.BitmapIndicator is > 0 and < 254)
            throw new GribFormatException(
                $"bitmap indicator {f.BitmapIndicator} (a predefined bitmap) is not supported", f.Offsets.S6, 6);
        // Cheap plausibility for the fixed-width packings, before anything is allocated.
        var s5 = f.Section5.Span;
        var dataBytes = (long)f.Section7.Length - 5;
        var template = f.DataRepresentationTemplateNumber;
        if (template is 0 or 61 && s5.Length > 19 && s5[19] > 0 && BitUnpack.BytesFor(f.NumberOfValues, s5[19]) > dataBytes)
            throw new GribFormatException(
                $"section 7 holds {dataBytes} bytes, {f.NumberOfValues} values of {s5[19]} bits need {BitUnpack.BytesFor(f.NumberOfValues, s5[19])}",
                f.Offsets.S7, 7);
    }

    public static void Decode(GribField f, Span<double> dest)
    {
        var nv = f.NumberOfValues;
        var np = f.NumberOfDataPoints;
        ReadOnlySpan<byte> bitmap = default;
        if (f.BitmapPresent)
        {
            bitmap = f.BitmapSection.Span[6..];
            var present = CountBits(bitmap, np);
            if (present != nv)
                throw new GribFormatException(
                    $"the bitmap marks {present} points present, section 5 has {nv} values", f.Offsets.S6, 6);
        }
        // Packed values go to the tail of the destination, then spread forward over the bitmap in place.
        var packed = dest[(np - nv)..];
        DecodePacked(f, packed);
        if (f.BitmapPresent) Spread(bitmap, dest, np - nv);
    }

    internal static void DecodePacked(GribField f, Span<double> packed)
    {
        switch (f.DataRepresentationTemplateNumber)
        {
            case 0:
                SimplePacking.Decode(f, packed);
                break;
            case 2:
            case 3:
                ComplexPacking.Decode(f, packed);
                break;
            case 4:
                IeeePacking.Decode(f, packed);
                break;
            case 40:
                Jpeg2000Packing.Decode(f, packed);
                break;
            case 41:
                PngPacking.Decode(f, packed);
                break;
            case 42:
                CcsdsPacking.Decode(f, packed);
                break;
            case 61:
                LogPacking.Decode(f, packed);
                break;
            case 200:
                RunLengthPacking.Decode(f, packed);
                break;
            default:
                throw new GribFormatException(
                    $"data representation template 5.{f.DataRepresentationTemplateNumber} is not supported",
                    f.Offsets.S5, 5);
        }
    }

    private static int CountBits(ReadOnlySpan<byte> bitmap, int points)
    {
        var full = points >> 3;
        var count = 0;
        var i = 0;
        for (; i + 8 <= full; i += 8)
            count += BitOperations.PopCount(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bitmap[i..]));
        for (; i < full; i++) count += BitOperations.PopCount((uint)bitmap[i]);
        var rest = points & 7;
        if (rest > 0) count += BitOperations.PopCount((uint)(bitmap[full] >> (8 - rest)));
        return count;
    }

    /// <summary>
    /// dest[offset..] holds the packed values; write them to the points the bitmap marks, NaN elsewhere.
    /// Reads never fall behind writes: at point i, the next packed value sits at index ≥ i.
    /// </summary>
    private static void Spread(ReadOnlySpan<byte> bitmap, Span<double> dest, int offset)
    {
        var np = dest.Length;
        var src = offset;
        var i = 0;
        var fullBytes = np >> 3;
        for (var byteIndex = 0; byteIndex < fullBytes; byteIndex++, i += 8)
        {
            var bits = bitmap[byteIndex];
            if (bits == 0xFF)
            {
                if (src != i) dest.Slice(src, 8).CopyTo(dest.Slice(i, 8));
                src += 8;
                continue;
            }
            if (bits == 0)
            {
                dest.Slice(i, 8).Fill(double.NaN);
                continue;
            }
            for (var k = 0; k < 8; k++)
                dest[i + k] = (bits & (0x80 >> k)) != 0 ? dest[src++] : double.NaN;
        }
        for (var k = 0; i < np; i++, k++)
            dest[i] = (bitmap[fullBytes] & (0x80 >> k)) != 0 ? dest[src++] : double.NaN;
    }
}
