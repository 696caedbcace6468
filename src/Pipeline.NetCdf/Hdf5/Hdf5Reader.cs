using System.Runtime.InteropServices;
using PureHDF;
using PureHDF.VOL.Native;

namespace Pipeline.NetCdf.Hdf5;

/// <summary>
/// NetCDF-4 (HDF5) through PureHDF: the root group's datasets become variables, dimension scales become
/// dimensions (named by their dataset, ids from <c>_Netcdf4Dimid</c>, lengths from the dataspace, unlimited when
/// the maximum is), variables find their dimensions through <c>_Netcdf4Coordinates</c> or <c>DIMENSION_LIST</c>
/// (else <c>phony_dim_N</c>, as h5netcdf names them). The chunk layout, filters and each chunk's file range come
/// from the layout message and the chunk B-tree. Anything one variable does not support becomes that variable's
/// <see cref="NcVariable.Problem"/>.
/// </summary>
internal sealed class Hdf5Reader : IDisposable
{
    private const string PureDimensionPrefix = "This is a netCDF dimension but not a netCDF variable";
    private static readonly HashSet<string> HiddenAttributes = new(StringComparer.Ordinal)
    {
        "CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST", "_Netcdf4Dimid", "_Netcdf4Coordinates", "_NCProperties",
        "_nc3_strict", "_SuperblockVersion", "_IsNetcdf4",
    };

    private readonly NativeFile _file;
    private readonly Stream _stream;
    private readonly Dictionary<string, IH5Dataset> _datasets = new(StringComparer.Ordinal);

    public Hdf5Reader(string path, Stream stream)
    {
        _stream = stream;
        try
        {
            _file = H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"{path}: not a readable HDF5 file: {e.Message}", e);
        }
        Path = path;
    }

    public string Path { get; }
    public List<NcDimension> Dimensions { get; } = [];
    public List<NcAttribute> Attributes { get; } = [];
    public List<NcVariable> Variables { get; } = [];

    /// <summary>Objects that are not variables (groups, committed types, broken links), with why they are skipped.</summary>
    public List<VariableProblem> Skipped { get; } = [];

    public void Load()
    {
        foreach (var a in ReadAttributes(_file, "global attributes")) Attributes.Add(a);
        var children = new List<IH5Object>();
        try
        {
            children.AddRange(_file.Children());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"{Path}: cannot list the root group{Truncation()}: {e.Message}", e);
        }

        // Pass 1: dimension scales.
        var dimsById = new SortedDictionary<int, NcDimension>();
        var dimsByName = new Dictionary<string, NcDimension>(StringComparer.Ordinal);
        var pureDimensions = new HashSet<string>(StringComparer.Ordinal);
        var datasets = new List<IH5Dataset>();
        foreach (var child in children)
        {
            if (child is IH5Dataset d)
            {
                datasets.Add(d);
                _datasets[d.Name] = d;
                try
                {
                    if (StringAttribute(d, "CLASS") != "DIMENSION_SCALE") continue;
                    var dims = d.Space.Dimensions;
                    var max = d.Space.MaxDimensions;
                    var dim = new NcDimension(d.Name, dims.Length == 1 ? (long)dims[0] : 0, max.Length == 1 && max[0] == ulong.MaxValue);
                    dimsByName[d.Name] = dim;
                    var id = d.AttributeExists("_Netcdf4Dimid") ? Ints(d.Attribute("_Netcdf4Dimid")).FirstOrDefault(-1) : -1;
                    if (id >= 0) dimsById[id] = dim;
                    if ((StringAttribute(d, "NAME") ?? "").StartsWith(PureDimensionPrefix, StringComparison.Ordinal)) pureDimensions.Add(d.Name);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Skipped.Add(new VariableProblem(Path, d.Name, "unreadable dimension scale: " + e.Message));
                }
            }
            else if (child is IH5Group g)
            {
                Skipped.Add(new VariableProblem(Path, g.Name, "a group: only the root group is indexed"));
            }
            else
            {
                Skipped.Add(new VariableProblem(Path, child.Name, $"a {child.GetType().Name}, not a dataset"));
            }
        }
        var ordered = dimsById.Values.ToList();
        foreach (var d in dimsByName.Values) if (!ordered.Contains(d)) ordered.Add(d);
        Dimensions.AddRange(ordered);

        var (offsetSize, lengthSize) = Hdf5Internals.Sizes(_file);
        foreach (var d in datasets)
        {
            if (pureDimensions.Contains(d.Name)) continue;
            Variables.Add(ReadVariable(d, dimsById, dimsByName, offsetSize, lengthSize));
        }
    }

    /// <summary>", the file is truncated (...)" when it is shorter than its superblock says, else "".</summary>
    internal string Truncation()
    {
        try
        {
            var eof = Hdf5Internals.EndOfFile(_file);
            return eof > (ulong)_stream.Length ? $" (the file is truncated: {_stream.Length} bytes of the {eof} its superblock declares)" : "";
        }
        catch (NotSupportedException)
        {
            return "";
        }
    }

    private NcVariable ReadVariable(IH5Dataset d, SortedDictionary<int, NcDimension> dimsById, Dictionary<string, NcDimension> dimsByName, int offsetSize, int lengthSize)
    {
        long[] shape;
        try
        {
            shape = d.Space.Dimensions.Select(x => (long)x).ToArray();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Broken(d.Name, "unreadable dataspace: " + e.Message);
        }
        var attributes = ReadAttributes(d, $"attributes of '{d.Name}'");
        NcType type;
        try
        {
            type = TypeOf(d.Type);
        }
        catch (NotSupportedException e)
        {
            return new NcVariable(d.Name, NcType.String, Phony(shape), shape, attributes, null, e.Message);
        }
        var dimNames = DimensionNames(d, shape, dimsById, dimsByName);
        try
        {
            var storage = Storage(d, shape, type, offsetSize, lengthSize);
            return new NcVariable(d.Name, type, dimNames, shape, attributes, storage);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var prefix = $"{Path}: variable '{d.Name}': ";
            return new NcVariable(d.Name, type, dimNames, shape, attributes, null, e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message);
        }
    }

    private NcStorage Storage(IH5Dataset d, long[] shape, NcType type, int offsetSize, int lengthSize)
    {
        var what = $"{Path}: variable '{d.Name}'";
        var layout = Hdf5Internals.LayoutOf(d);
        var filters = Hdf5Internals.Filters(d);
        var bigEndian = Hdf5Internals.IsBigEndian(d);
        var full = shape.Select(s => (int)Math.Max(1, Math.Min(s, int.MaxValue))).ToArray();
        var bytes = shape.Aggregate((long)type.Size(), (a, b) => a * b);
        switch (layout.Class)
        {
            case "compact":
                return new NcStorage(full, bigEndian, [], [], layout.CompactData, "compact");
            case "contiguous":
                if (layout.IndexMissing || bytes == 0) return new NcStorage(full, bigEndian, [], [], null, "contiguous");
                if ((long)layout.Address + bytes > _stream.Length)
                    throw new InvalidDataException($"data at byte {layout.Address} (+{bytes}) lies beyond the end of the file ({_stream.Length} bytes; truncated?)");
                return new NcStorage(full, bigEndian, [], [new NcChunk(new long[shape.Length], (long)layout.Address, bytes)], null, "contiguous");
            case "chunked":
                var chunkShape = layout.ChunkDims.Take(shape.Length).Select(x => (int)x).ToArray();
                if (chunkShape.Length != shape.Length) throw new InvalidDataException($"chunk rank {chunkShape.Length} for a rank {shape.Length} dataset");
                List<NcChunk> chunks;
                if (layout.IndexMissing) chunks = [];
                else if (layout.IndexType == "btree1") chunks = ChunkIndex.ReadBTree1(_stream, layout.Address, layout.ChunkDims, offsetSize, what);
                else if (layout.IndexType == "SingleChunk")
                {
                    var size = filters.Count > 0 ? (long)layout.SingleChunkFilteredSize : chunkShape.Aggregate((long)type.Size(), (a, b) => a * b);
                    chunks = [new NcChunk(new long[shape.Length], (long)layout.Address, size, layout.SingleChunkFilters)];
                }
                else if (layout.IndexType == "FixedArray")
                    chunks = ChunkIndex.ReadFixedArray(_stream, layout.Address, shape, layout.ChunkDims, filters.Count > 0, offsetSize, lengthSize, what);
                else throw new NotSupportedException($"chunk index '{layout.IndexType}' (layout message version {layout.LayoutVersion}) cannot be referenced yet");
                return new NcStorage(chunkShape, bigEndian, filters, chunks, null, "chunked");
            default:
                throw new NotSupportedException($"{layout.Class} storage");
        }
    }

    private string[] DimensionNames(IH5Dataset d, long[] shape, SortedDictionary<int, NcDimension> dimsById, Dictionary<string, NcDimension> dimsByName)
    {
        try
        {
            if (d.AttributeExists("_Netcdf4Coordinates"))
            {
                var ids = Ints(d.Attribute("_Netcdf4Coordinates"));
                if (ids.Length == shape.Length && ids.All(dimsById.ContainsKey)) return [.. ids.Select(i => dimsById[i].Name)];
            }
            if (shape.Length == 1 && dimsByName.ContainsKey(d.Name)) return [d.Name];
            if (d.AttributeExists("DIMENSION_LIST"))
            {
                var refs = d.Attribute("DIMENSION_LIST").Read<NativeObjectReference1[][]>();
                if (refs.Length == shape.Length)
                {
                    var names = refs.Select(r => r.Length > 0 ? _file.Get(r[0]).Name : null).ToArray();
                    if (names.All(n => n is not null)) return names!;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Fall through to names by length: better than losing the variable.
            Skipped.Add(new VariableProblem(Path, d.Name, "dimension names unreadable (" + e.Message + "); named by length"));
        }
        return Phony(shape);
    }

    private string[] Phony(long[] shape)
    {
        var names = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            var match = Dimensions.FirstOrDefault(x => x.Length == shape[i] && !names.Contains(x.Name));
            if (match is not null) { names[i] = match.Name; continue; }
            var phony = Dimensions.FirstOrDefault(x => x.Name.StartsWith("phony_dim_", StringComparison.Ordinal) && x.Length == shape[i] && !names.Contains(x.Name));
            if (phony is null)
            {
                phony = new NcDimension($"phony_dim_{Dimensions.Count(x => x.Name.StartsWith("phony_dim_", StringComparison.Ordinal))}", shape[i], false);
                Dimensions.Add(phony);
            }
            names[i] = phony.Name;
        }
        return names;
    }

    private NcVariable Broken(string name, string problem) => new(name, NcType.Byte, [], [], [], null, problem);

    private List<NcAttribute> ReadAttributes(IH5Object o, string what)
    {
        var list = new List<NcAttribute>();
        IEnumerable<IH5Attribute> attributes;
        try
        {
            attributes = o.Attributes().ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Skipped.Add(new VariableProblem(Path, o.Name.Length == 0 ? "/" : o.Name, $"{what} unreadable: {e.Message}"));
            return list;
        }
        foreach (var a in attributes)
        {
            if (HiddenAttributes.Contains(a.Name)) continue;
            try
            {
                list.Add(ReadAttribute(a));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Skipped.Add(new VariableProblem(Path, o.Name.Length == 0 ? "/" : o.Name, $"attribute '{a.Name}' unreadable: {e.Message}"));
            }
        }
        return list;
    }

    private static NcAttribute ReadAttribute(IH5Attribute a)
    {
        if (a.Type.Class is H5DataTypeClass.String or H5DataTypeClass.VariableLength)
        {
            // Fixed-length strings (netCDF-4 text attributes) and variable-length strings (h5py's default).
            var values = a.Read<string[]>();
            return values.Length == 1 ? new NcAttribute(a.Name, NcType.Char, values[0].TrimEnd('\0')) : new NcAttribute(a.Name, NcType.String, values);
        }
        var type = TypeOf(a.Type);
        object value = type switch
        {
            NcType.Byte => a.Read<sbyte[]>(),
            NcType.UByte => a.Read<byte[]>(),
            NcType.Short => a.Read<short[]>(),
            NcType.UShort => a.Read<ushort[]>(),
            NcType.Int => a.Read<int[]>(),
            NcType.UInt => a.Read<uint[]>(),
            NcType.Int64 => a.Read<long[]>(),
            NcType.UInt64 => a.Read<ulong[]>(),
            NcType.Float => a.Read<float[]>(),
            NcType.Double => a.Read<double[]>(),
            _ => throw new NotSupportedException($"attribute type {type}"),
        };
        return new NcAttribute(a.Name, type, value);
    }

    private static NcType TypeOf(IH5DataType t) => t.Class switch
    {
        H5DataTypeClass.FixedPoint => (t.Size, t.FixedPoint.IsSigned) switch
        {
            (1, true) => NcType.Byte,
            (1, false) => NcType.UByte,
            (2, true) => NcType.Short,
            (2, false) => NcType.UShort,
            (4, true) => NcType.Int,
            (4, false) => NcType.UInt,
            (8, true) => NcType.Int64,
            (8, false) => NcType.UInt64,
            _ => throw new NotSupportedException($"{t.Size}-byte integers"),
        },
        H5DataTypeClass.FloatingPoint => t.Size switch
        {
            4 => NcType.Float,
            8 => NcType.Double,
            _ => throw new NotSupportedException($"{t.Size}-byte floats"),
        },
        // netCDF-4 stores NC_CHAR as one-byte fixed-length strings: numpy S1, referenced like any other type.
        H5DataTypeClass.String when t.Size == 1 => NcType.Char,
        H5DataTypeClass.String => throw new NotSupportedException("string variables are not referenced (no fixed-size Zarr dtype)"),
        var c => throw new NotSupportedException($"HDF5 {c} data (only integer and floating-point variables)"),
    };

    private static int[] Ints(IH5Attribute a) => a.Type.Size switch
    {
        4 => a.Type.FixedPoint.IsSigned ? a.Read<int[]>() : a.Read<uint[]>().Select(x => (int)x).ToArray(),
        8 => a.Read<long[]>().Select(x => (int)x).ToArray(),
        2 => a.Read<short[]>().Select(x => (int)x).ToArray(),
        _ => [],
    };

    private static string? StringAttribute(IH5Object o, string name)
    {
        if (!o.AttributeExists(name)) return null;
        var a = o.Attribute(name);
        return a.Type.Class == H5DataTypeClass.String ? a.Read<string>() : null;
    }

    /// <summary>The variable's values, decoded by PureHDF (every filter it knows), as little-endian bytes in C order.</summary>
    public byte[] ReadValues(NcVariable v)
    {
        var d = _datasets.TryGetValue(v.Name, out var ds) ? ds : throw new KeyNotFoundException($"{Path}: no dataset '{v.Name}'");
        return v.Type switch
        {
            NcType.Byte => Bytes(d.Read<sbyte[]>()),
            NcType.UByte => d.Read<byte[]>(),
            NcType.Short => Bytes(d.Read<short[]>()),
            NcType.UShort => Bytes(d.Read<ushort[]>()),
            NcType.Int => Bytes(d.Read<int[]>()),
            NcType.UInt => Bytes(d.Read<uint[]>()),
            NcType.Int64 => Bytes(d.Read<long[]>()),
            NcType.UInt64 => Bytes(d.Read<ulong[]>()),
            NcType.Float => Bytes(d.Read<float[]>()),
            NcType.Double => Bytes(d.Read<double[]>()),
            _ => throw new NotSupportedException($"{Path}: variable '{v.Name}' of type {v.Type}"),
        };
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    public void Dispose() => _file.Dispose();
}
