namespace Pipeline.Grib2.Data;

/// <summary>Template 5.61: simple packing of log(value + B); decoded as exp(simple) - B (ecCodes' grid_simple_log_preprocessing).</summary>
internal static class LogPacking
{
    public static void Decode(GribField field, Span<double> dest)
    {
        var s5 = field.Section5.Span;
        if (s5.Length < 24)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, template 5.61 needs 24", field.Offsets.S5, 5);
        var h = SimpleHeader.Read(s5, field.Offsets.S5);
        double b = Be.F32(s5, 20); // octets 21-24: pre-processing parameter B
        SimplePacking.Unpack(field, h, dest);
        for (var i = 0; i < dest.Length; i++) dest[i] = Math.Exp(dest[i]) - b;
    }
}
