using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Pipeline.NetCdf;

/// <summary>The on-disk format of a NetCDF file.</summary>
public enum NetCdfFormat
{
    /// <summary>NetCDF-3 classic (<c>CDF\x01</c>, CDF-1): 32-bit offsets.</summary>
    Classic,
    /// <summary>NetCDF-3 64-bit offset (<c>CDF\x02</c>, CDF-2).</summary>
    Offset64,
    /// <summary>NetCDF-3 64-bit data (<c>CDF\x05</c>, CDF-5): 64-bit sizes, unsigned and 64-bit integer types.</summary>
    Data64,
    /// <summary>NetCDF-4 (or any HDF5 file), read with PureHDF.</summary>
    Hdf5,
}

/// <summary>The NetCDF external types (numbers as in the NetCDF-3 format; String is NetCDF-4 only).</summary>
public enum NcType
{
    Byte = 1,
    Char = 2,
    Short = 3,
    Int = 4,
    Float = 5,
    Double = 6,
    UByte = 7,
    UShort = 8,
    UInt = 9,
    Int64 = 10,
    UInt64 = 11,
    String = 12,
}

public static class NcTypes
{
    /// <summary>Bytes per element (0 for variable-length strings).</summary>
    public static int Size(this NcType t) => t switch
    {
        NcType.Byte or NcType.Char or NcType.UByte => 1,
        NcType.Short or NcType.UShort => 2,
        NcType.Int or NcType.UInt or NcType.Float => 4,
        NcType.Double or NcType.Int64 or NcType.UInt64 => 8,
        _ => 0,
    };

    /// <summary>The CDL name (<c>float</c>, <c>short</c>, ...), as ncdump prints it.</summary>
    public static string CdlName(this NcType t) => t switch
    {
        NcType.Byte => "byte",
        NcType.Char => "char",
        NcType.Short => "short",
        NcType.Int => "int",
        NcType.Float => "float",
        NcType.Double => "double",
        NcType.UByte => "ubyte",
        NcType.UShort => "ushort",
        NcType.UInt => "uint",
        NcType.Int64 => "int64",
        NcType.UInt64 => "uint64",
        _ => "string",
    };

    /// <summary>The numpy typestr (<c>&gt;f4</c>, <c>&lt;i2</c>, <c>|i1</c>, <c>|S1</c>) for the byte order.</summary>
    public static string NumpyType(this NcType t, bool bigEndian)
    {
        var order = t.Size() == 1 ? "|" : bigEndian ? ">" : "<";
        return order + t switch
        {
            NcType.Byte => "i1",
            NcType.Char => "S1",
            NcType.Short => "i2",
            NcType.Int => "i4",
            NcType.Float => "f4",
            NcType.Double => "f8",
            NcType.UByte => "u1",
            NcType.UShort => "u2",
            NcType.UInt => "u4",
            NcType.Int64 => "i8",
            NcType.UInt64 => "u8",
            _ => throw new NotSupportedException("variable-length strings have no fixed-size numpy type"),
        };
    }

    public static bool IsFloat(this NcType t) => t is NcType.Float or NcType.Double;
}

/// <summary>A dimension; <see cref="IsUnlimited"/> for the record dimension (NetCDF-3) or an unlimited one (NetCDF-4).</summary>
public sealed record NcDimension(string Name, long Length, bool IsUnlimited);

/// <summary>
/// An attribute: <see cref="Value"/> is a <see cref="string"/> (char or string attributes) or a one-dimensional
/// array of the type's CLR element (sbyte[], short[], int[], float[], double[], byte[], ushort[], uint[], long[], ulong[]).
/// </summary>
public sealed record NcAttribute(string Name, NcType Type, object Value)
{
    /// <summary>The value as JSON, as xarray writes attributes to Zarr: a string, a number for one value, else an array.</summary>
    public JsonNode? ToJson()
    {
        if (Value is string s) return JsonValue.Create(s);
        if (Value is string[] ss) return ss.Length == 1 ? JsonValue.Create(ss[0]) : new JsonArray([.. ss.Select(x => (JsonNode?)JsonValue.Create(x))]);
        var array = (Array)Value;
        var nodes = new JsonNode?[array.Length];
        for (var i = 0; i < array.Length; i++) nodes[i] = Number(array.GetValue(i)!);
        return nodes.Length == 1 ? nodes[0] : new JsonArray(nodes);
    }

    private static string NonFiniteName(double d) => double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";

    /// <summary>One value as a double (for _FillValue, scale_factor), or null when it is text or empty.</summary>
    public double? AsDouble() => Value is Array { Length: > 0 } a and not string[] ? System.Convert.ToDouble(a.GetValue(0), CultureInfo.InvariantCulture) : null;

    /// <summary>The value as ncdump prints it.</summary>
    public string Display()
    {
        if (Value is string s) return "\"" + s.Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
        if (Value is string[] ss) return string.Join(", ", ss.Select(x => "\"" + x + "\""));
        var a = (Array)Value;
        var sb = new StringBuilder();
        for (var i = 0; i < a.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(System.Convert.ToString(a.GetValue(i), CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Marks a non-finite number in attribute JSON; <see cref="References.NetCdfReferences"/> writes it as Python's bare NaN/Infinity.</summary>
    internal const string NonFinite = "__nonfinite__:";

    private static JsonNode? Number(object v) => v switch
    {
        float f => float.IsFinite(f) ? JsonValue.Create((double)f) : JsonValue.Create(NonFinite + NonFiniteName(f)),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(NonFinite + NonFiniteName(d)),
        ulong u => JsonValue.Create(u),
        byte b => JsonValue.Create((long)b),
        _ => JsonValue.Create(System.Convert.ToInt64(v, CultureInfo.InvariantCulture)),
    };
}

/// <summary>One filter of an HDF5 filter pipeline (1 deflate, 2 shuffle, 3 fletcher32, 4 szip, 5 nbit, 6 scaleoffset, ...).</summary>
public sealed record NcFilter(int Id, string Name, uint[] ClientData)
{
    public const int Deflate = 1;
    public const int Shuffle = 2;
    public const int Fletcher32 = 3;
    public const int Szip = 4;

    public override string ToString() => Id switch
    {
        Deflate => "deflate",
        Shuffle => "shuffle",
        Fletcher32 => "fletcher32",
        Szip => "szip",
        5 => "nbit",
        6 => "scaleoffset",
        32000 => "lzf",
        32001 => "blosc",
        32004 => "lz4",
        32015 => "zstd",
        _ => string.IsNullOrEmpty(Name) ? $"filter {Id}" : $"{Name} ({Id})",
    };
}

/// <summary>
/// One stored chunk: its index in the chunk grid and the byte range of its (filtered) bytes in the file.
/// <see cref="FilterMask"/> is HDF5's per-chunk mask of skipped filters (0: every filter applied).
/// </summary>
public sealed record NcChunk(long[] Index, long Offset, long Length, uint FilterMask = 0);

/// <summary>
/// How a variable's data lies in the file: a regular chunk grid (a NetCDF-3 fixed variable is one chunk of its
/// whole shape; a record variable one chunk per record; HDF5 contiguous data one chunk; HDF5 compact data
/// <see cref="CompactData"/>), the element byte order, the filter pipeline in the order HDF5 applies it when
/// writing, and the chunks that exist (a missing chunk reads as the fill value).
/// </summary>
public sealed record NcStorage(int[] ChunkShape, bool BigEndian, IReadOnlyList<NcFilter> Filters, IReadOnlyList<NcChunk> Chunks,
    byte[]? CompactData = null, string Layout = "contiguous");

/// <summary>
/// A variable: name, type, dimension names and shape, attributes, and where its data is (<see cref="Storage"/>,
/// null with a <see cref="Problem"/> when it cannot be located). <see cref="IsDimensionOnly"/> marks NetCDF-4
/// dimension scales that are not NetCDF variables.
/// </summary>
public sealed record NcVariable(string Name, NcType Type, IReadOnlyList<string> Dimensions, long[] Shape,
    IReadOnlyList<NcAttribute> Attributes, NcStorage? Storage, string? Problem = null)
{
    public NcAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public bool IsCoordinate => Dimensions.Count == 1 && Dimensions[0] == Name;
}

/// <summary>Why one variable could not be referenced (or was converted instead), with the file it is in.</summary>
public sealed record VariableProblem(string File, string Variable, string Message)
{
    public override string ToString() => $"{File}: variable '{Variable}': {Message}";
}
