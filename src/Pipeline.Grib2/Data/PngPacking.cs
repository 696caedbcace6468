namespace Pipeline.Grib2.Data;

internal static class PngPacking
{
    public static void Decode(GribField field, Span<double> dest) =>
        throw new GribFormatException(
            $"data representation template 5.{field.DataRepresentationTemplateNumber} is not implemented yet ({dest.Length} values)",
            field.Offsets.S5, 5);
}
