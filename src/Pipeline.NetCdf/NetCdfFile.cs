using System.Globalization;
using System.Text;
using Pipeline.NetCdf.Classic;
using Pipeline.NetCdf.Hdf5;

namespace Pipeline.NetCdf;

/// <summary>
/// An open NetCDF file of any format: NetCDF-3 (CDF-1/2/5, our own reader) or NetCDF-4/HDF5 (PureHDF plus our
/// chunk-index reader). Holds dimensions, global attributes, variables with their storage (chunk grid, filters,
/// each chunk's byte range) and reads values. Variables that cannot be located or typed carry a
/// <see cref="NcVariable.Problem"/>; the file itself only fails to open when its header is unreadable.
/// Not thread-safe (one file position).
/// </summary>
public sealed class NetCdfFile : IDisposable
{
    /// <summary>The HDF5 superblock signature.</summary>
    public static ReadOnlySpan<byte> Hdf5Signature => [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n'];

    private readonly FileStream _stream;
    private readonly Hdf5Reader? _hdf5;

    private NetCdfFile(string path, FileStream stream, NetCdfFormat format, IReadOnlyList<NcDimension> dims, IReadOnlyList<NcAttribute> attrs,
        IReadOnlyList<NcVariable> vars, IReadOnlyList<VariableProblem> skipped, Hdf5Reader? hdf5)
    {
        Path = path;
        _stream = stream;
        Format = format;
        Dimensions = dims;
        Attributes = attrs;
        Variables = vars;
        Skipped = skipped;
        _hdf5 = hdf5;
    }

    public string Path { get; }
    public NetCdfFormat Format { get; }
    public IReadOnlyList<NcDimension> Dimensions { get; }
    public IReadOnlyList<NcAttribute> Attributes { get; }
    public IReadOnlyList<NcVariable> Variables { get; }

    /// <summary>Objects that are not indexed (groups, unreadable attributes), with the reason.</summary>
    public IReadOnlyList<VariableProblem> Skipped { get; }

    public long Length => _stream.Length;

    /// <summary>
    /// Why the file is shorter than it says it is (HDF5: the superblock's end-of-file address; NetCDF-3: data the
    /// header places past the end; either: a chunk or chunk index beyond the end), or null when it is whole.
    /// </summary>
    public string? Truncation
    {
        get
        {
            if (_hdf5?.Truncation() is { Length: > 0 } t) return t.Trim().TrimStart('(').TrimEnd(')');
            foreach (var v in Variables)
            {
                if (v.Problem is { } p && (p.Contains("(truncated?)", StringComparison.Ordinal) || p.Contains("beyond the end of the file", StringComparison.Ordinal)))
                    return $"variable '{v.Name}': {p}";
                if (v.Storage?.Chunks.FirstOrDefault(c => c.Offset + c.Length > Length) is { } cut)
                    return $"variable '{v.Name}': data at bytes {cut.Offset}..{cut.Offset + cut.Length}, the file has {Length} bytes";
            }
            return null;
        }
    }

    public NcVariable Variable(string name) =>
        Variables.FirstOrDefault(v => v.Name == name) ?? throw new KeyNotFoundException($"{Path}: no variable '{name}'");

    public NcAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    /// <summary>The format from the first bytes, or null when they are neither HDF5 nor NetCDF-3.</summary>
    public static NetCdfFormat? Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 8 && head[..8].SequenceEqual(Hdf5Signature)) return NetCdfFormat.Hdf5;
        if (head.Length >= 4 && head[0] == 'C' && head[1] == 'D' && head[2] == 'F')
            return head[3] switch { 1 => NetCdfFormat.Classic, 2 => NetCdfFormat.Offset64, 5 => NetCdfFormat.Data64, _ => null };
        return null;
    }

    /// <summary>True when the file starts with the HDF5 or a NetCDF-3 signature.</summary>
    public static bool IsNetCdf(string path)
    {
        Span<byte> head = stackalloc byte[8];
        using var s = File.OpenRead(path);
        var n = s.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        return Detect(head[..n]) is not null;
    }

    /// <summary>Opens and indexes the file; throws <see cref="InvalidDataException"/> naming the file when it is not NetCDF or its header is broken.</summary>
    public static NetCdfFile Open(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            Span<byte> head = stackalloc byte[8];
            var n = stream.ReadAtLeast(head, 8, throwOnEndOfStream: false);
            var format = Detect(head[..n]) ?? throw new InvalidDataException(
                $"{path}: not a NetCDF file: it starts with {Convert.ToHexString(head[..n])}, neither the HDF5 signature (89484446 0D0A1A0A) nor 'CDF' 1/2/5");
            if (format == NetCdfFormat.Hdf5)
            {
                var hdf5 = new Hdf5Reader(path, stream);
                try
                {
                    hdf5.Load();
                }
                catch
                {
                    hdf5.Dispose();
                    throw;
                }
                return new NetCdfFile(path, stream, format, hdf5.Dimensions, hdf5.Attributes, hdf5.Variables, hdf5.Skipped, hdf5);
            }
            var header = ClassicReader.Read(stream, path);
            return new NetCdfFile(path, stream, header.Format, header.Dimensions, header.Attributes, header.Variables, [], null);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Raw bytes of the file (a chunk as stored).</summary>
    public byte[] ReadBytes(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > _stream.Length)
            throw new InvalidDataException($"{Path}: bytes {offset}..{offset + length} lie outside the file ({_stream.Length} bytes; truncated?)");
        var b = new byte[length];
        _stream.Position = offset;
        _stream.ReadExactly(b);
        return b;
    }

    /// <summary>
    /// The variable's values, decoded, as little-endian elements in C order (NetCDF-3: read and byte-swapped;
    /// NetCDF-4: PureHDF applies the filters). Throws naming the variable when it cannot be read.
    /// </summary>
    public byte[] ReadValues(NcVariable v)
    {
        if (v.Type.Size() == 0) throw new NotSupportedException($"{Path}: variable '{v.Name}': {v.Type} values cannot be read as fixed-size elements");
        try
        {
            if (_hdf5 is not null) return _hdf5.ReadValues(v);
        }
        catch (Exception e) when (e is not (OperationCanceledException or NotSupportedException or InvalidDataException))
        {
            throw new InvalidDataException($"{Path}: variable '{v.Name}': {e.Message}", e);
        }
        var storage = v.Storage ?? throw new InvalidDataException($"{Path}: variable '{v.Name}': {v.Problem}");
        var size = v.Type.Size();
        var output = new byte[v.ElementCount * size];
        var at = 0L;
        foreach (var c in storage.Chunks.OrderBy(c => c.Index.Length == 0 ? 0 : c.Index[0]))
        {
            var bytes = ReadBytes(c.Offset, c.Length);
            bytes.CopyTo(output.AsSpan((int)at));
            at += bytes.Length;
        }
        if (storage.BigEndian) SwapInPlace(output, size);
        return output;
    }

    internal static void SwapInPlace(Span<byte> data, int size)
    {
        if (size == 1) return;
        for (var i = 0; i + size <= data.Length; i += size) data.Slice(i, size).Reverse();
    }

    /// <summary>An <c>ncdump -h</c>-like summary, plus each variable's storage (chunks, filters) and problems.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"netcdf {System.IO.Path.GetFileNameWithoutExtension(Path)} {{ // {FormatName(Format)}, {Length} bytes\n");
        sb.Append("dimensions:\n");
        foreach (var d in Dimensions)
            sb.Append(inv, $"\t{d.Name} = {(d.IsUnlimited ? $"UNLIMITED ; // ({d.Length} currently)" : d.Length + " ;")}\n");
        sb.Append("variables:\n");
        foreach (var v in Variables)
        {
            sb.Append(inv, $"\t{v.Type.CdlName()} {v.Name}{(v.Dimensions.Count > 0 ? "(" + string.Join(", ", v.Dimensions) + ")" : "")} ;\n");
            foreach (var a in v.Attributes) sb.Append(inv, $"\t\t{v.Name}:{a.Name} = {a.Display()} ;\n");
            if (v.Storage is { } s)
            {
                var filters = s.Filters.Count == 0 ? "" : ", filters: " + string.Join(" | ", s.Filters);
                sb.Append(inv, $"\t\t// {s.Layout}, chunks ({string.Join(", ", s.ChunkShape)}), {s.Chunks.Count} stored{filters}{(s.BigEndian ? ", big-endian" : "")}\n");
            }
            if (v.Problem is not null) sb.Append(inv, $"\t\t// PROBLEM: {v.Problem}\n");
        }
        if (Attributes.Count > 0)
        {
            sb.Append("\n// global attributes:\n");
            foreach (var a in Attributes) sb.Append(inv, $"\t\t:{a.Name} = {a.Display()} ;\n");
        }
        foreach (var p in Skipped) sb.Append(inv, $"// skipped '{p.Variable}': {p.Message}\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    public static string FormatName(NetCdfFormat f) => f switch
    {
        NetCdfFormat.Classic => "NetCDF-3 classic (CDF-1)",
        NetCdfFormat.Offset64 => "NetCDF-3 64-bit offset (CDF-2)",
        NetCdfFormat.Data64 => "NetCDF-3 64-bit data (CDF-5)",
        _ => "NetCDF-4/HDF5",
    };

    public void Dispose()
    {
        _hdf5?.Dispose();
        _stream.Dispose();
    }
}
