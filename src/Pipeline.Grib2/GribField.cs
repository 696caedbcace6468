using Pipeline.Grib2.Data;

namespace Pipeline.Grib2;

/// <summary>
/// One field of a GRIB2 message: the sections 2 to 7 that describe and hold it. Sections 2 and 3 carry over
/// from earlier repetitions in the same message; section 6 with indicator 254 reuses the previous bitmap.
/// </summary>
public sealed class GribField
{
    internal GribField(GribMessage message, int indexInMessage, ReadOnlyMemory<byte> section2,
        ReadOnlyMemory<byte> section3, ReadOnlyMemory<byte> section4, ReadOnlyMemory<byte> section5,
        ReadOnlyMemory<byte> section6, ReadOnlyMemory<byte> section7, ReadOnlyMemory<byte> bitmapSection,
        SectionOffsets offsets)
    {
        Message = message;
        IndexInMessage = indexInMessage;
        Section2 = section2;
        Section3 = section3;
        Section4 = section4;
        Section5 = section5;
        Section6 = section6;
        Section7 = section7;
        BitmapSection = bitmapSection;
        Offsets = offsets;
        var s3 = section3.Span;
        NumberOfDataPoints = checked((int)Math.Min(Be.U32(s3, 6), int.MaxValue));
        GridDefinitionTemplateNumber = Be.U16(s3, 12);
        ProductDefinitionTemplateNumber = Be.U16(section4.Span, 7);
        var s5 = section5.Span;
        NumberOfValues = checked((int)Math.Min(Be.U32(s5, 5), int.MaxValue));
        DataRepresentationTemplateNumber = Be.U16(s5, 9);
        BitmapIndicator = section6.Span[5];
    }

    public GribMessage Message { get; }

    /// <summary>0-based position of this field among the message's fields.</summary>
    public int IndexInMessage { get; }

    public int Discipline => Message.Discipline;

    /// <summary>Section 2 (local use) with its header; empty when the message has none.</summary>
    public ReadOnlyMemory<byte> Section2 { get; }

    public ReadOnlyMemory<byte> Section3 { get; }
    public ReadOnlyMemory<byte> Section4 { get; }
    public ReadOnlyMemory<byte> Section5 { get; }
    public ReadOnlyMemory<byte> Section6 { get; }
    public ReadOnlyMemory<byte> Section7 { get; }

    /// <summary>The section 6 that actually holds this field's bitmap (an earlier one when the indicator is 254).</summary>
    internal ReadOnlyMemory<byte> BitmapSection { get; }

    internal SectionOffsets Offsets { get; }

    public int GridDefinitionTemplateNumber { get; }
    public int ProductDefinitionTemplateNumber { get; }
    public int DataRepresentationTemplateNumber { get; }

    /// <summary>Number of grid points (section 3): the length of the decoded array.</summary>
    public int NumberOfDataPoints { get; }

    /// <summary>Number of packed values (section 5): points not masked by the bitmap.</summary>
    public int NumberOfValues { get; }

    /// <summary>Bitmap indicator (code table 6.0): 0 bitmap here, 254 previous bitmap, 255 none.</summary>
    public int BitmapIndicator { get; }

    public bool BitmapPresent => BitmapIndicator != 255;

    /// <summary>Bits per packed value (octet 20 of section 5) for the templates that have it, else 0.</summary>
    public int BitsPerValue => DataRepresentationTemplateNumber switch
    {
        4 => Section5.Span[11] == 2 ? 64 : 32,
        200 => Section5.Span[11],
        _ => Section5.Length > 19 ? Section5.Span[19] : 0,
    };

    /// <summary>Absolute byte offset (in the scanned file) of section <paramref name="section"/> of this field.</summary>
    public long SectionOffset(int section) => Offsets.Of(section);

    /// <summary>Decode the field: <see cref="NumberOfDataPoints"/> values in ecCodes' order, NaN where missing.</summary>
    public double[] DecodeValues()
    {
        DataDecoder.CheckSize(this);
        var values = GC.AllocateUninitializedArray<double>(NumberOfDataPoints);
        DataDecoder.Decode(this, values);
        return values;
    }

    /// <summary>Decode into <paramref name="destination"/>, which must hold exactly <see cref="NumberOfDataPoints"/> values.</summary>
    public void DecodeValues(Span<double> destination)
    {
        if (destination.Length != NumberOfDataPoints)
            throw new ArgumentException(
                $"destination holds {destination.Length} values, the field has {NumberOfDataPoints} points", nameof(destination));
        DataDecoder.CheckSize(this);
        DataDecoder.Decode(this, destination);
    }

    /// <summary>
    /// Decodes straight to float32 where the packing has such a path (PNG without a bitmap, today): each value is
    /// computed in double and narrowed, the same floats as <c>(float)</c> of <see cref="DecodeValues(Span{double})"/>,
    /// with ecCodes' missingValue 9999 as NaN (cfgrib's reading). False, and nothing written, where there is none: then
    /// decode to doubles. Saves the double buffer of very large fields (MRMS mosaics: 24.5 M points).
    /// </summary>
    public bool TryDecodeFloat32(Span<float> destination)
    {
        if (destination.Length != NumberOfDataPoints)
            throw new ArgumentException(
                $"destination holds {destination.Length} values, the field has {NumberOfDataPoints} points", nameof(destination));
        if (DataRepresentationTemplateNumber != 41 || BitmapPresent) return false;
        DataDecoder.CheckSize(this);
        Data.PngPacking.Decode(this, destination);
        return true;
    }
}

/// <summary>Absolute offsets of a field's sections, for error messages.</summary>
internal readonly record struct SectionOffsets(long S3, long S4, long S5, long S6, long S7, long S2)
{
    public long Of(int section) => section switch
    {
        2 => S2,
        3 => S3,
        4 => S4,
        5 => S5,
        6 => S6,
        7 => S7,
        _ => throw new ArgumentOutOfRangeException(nameof(section), section, "a field has sections 2 to 7"),
    };
}
