namespace Pipeline.Zarr.Metadata;

/// <summary>A Zarr element type: v2 <c>dtype</c> (little-endian typestr) and v3 <c>data_type</c>.</summary>
public sealed record ZarrDataType(string V3Name, string V2Name, int Size, bool IsFloat)
{
    public static readonly ZarrDataType Float32 = new("float32", "<f4", 4, true);
    public static readonly ZarrDataType Float64 = new("float64", "<f8", 8, true);
    public static readonly ZarrDataType Int8 = new("int8", "|i1", 1, false);
    public static readonly ZarrDataType Int16 = new("int16", "<i2", 2, false);
    public static readonly ZarrDataType Int32 = new("int32", "<i4", 4, false);
    public static readonly ZarrDataType Int64 = new("int64", "<i8", 8, false);
    public static readonly ZarrDataType UInt8 = new("uint8", "|u1", 1, false);
    public static readonly ZarrDataType UInt16 = new("uint16", "<u2", 2, false);
    public static readonly ZarrDataType UInt32 = new("uint32", "<u4", 4, false);
    public static readonly ZarrDataType UInt64 = new("uint64", "<u8", 8, false);

    public static readonly IReadOnlyList<ZarrDataType> All = [Float32, Float64, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64];

    /// <summary>The type for a CLR element type.</summary>
    public static ZarrDataType Of<T>() where T : unmanaged => typeof(T) switch
    {
        var t when t == typeof(float) => Float32,
        var t when t == typeof(double) => Float64,
        var t when t == typeof(sbyte) => Int8,
        var t when t == typeof(short) => Int16,
        var t when t == typeof(int) => Int32,
        var t when t == typeof(long) => Int64,
        var t when t == typeof(byte) => UInt8,
        var t when t == typeof(ushort) => UInt16,
        var t when t == typeof(uint) => UInt32,
        var t when t == typeof(ulong) => UInt64,
        var t => throw new NotSupportedException($"no Zarr data type for {t.Name}"),
    };

    public static ZarrDataType FromV2(string name) =>
        All.FirstOrDefault(t => t.V2Name == name || (t.Size == 1 && t.V2Name[1..] == name[1..]))
        ?? throw new NotSupportedException($"unsupported Zarr v2 dtype '{name}'");

    public static ZarrDataType FromV3(string name) =>
        All.FirstOrDefault(t => t.V3Name == name) ?? throw new NotSupportedException($"unsupported Zarr v3 data_type '{name}'");

    public override string ToString() => V3Name;
}
