using System.Buffers.Binary;
using System.Text;

namespace Pipeline.NetCdf.Classic;

/// <summary>
/// Reads the header of a NetCDF-3 file (CDF-1 classic, CDF-2 64-bit offset, CDF-5 64-bit data) as the
/// NetCDF Classic Format Specification lays it out: magic, numrecs, dim_list, gatt_list, var_list; every number
/// big-endian, names and values padded to 4 bytes. The data is not read: each variable gets the byte ranges of
/// its values (fixed variables one contiguous range, record variables one range per record, records
/// <c>recsize</c> apart), which is what kerchunk's <c>NetCDF3ToZarr</c> references.
/// </summary>
internal static class ClassicReader
{
    private const int NcDimension = 0x0A;
    private const int NcVariable = 0x0B;
    private const int NcAttribute = 0x0C;
    private const uint Streaming = 0xFFFFFFFF;

    public sealed record Header(NetCdfFormat Format, IReadOnlyList<NcDimension> Dimensions, IReadOnlyList<NcAttribute> Attributes,
        IReadOnlyList<NcVariable> Variables, long NumRecords, long RecordSize, long HeaderLength);

    public static Header Read(Stream stream, string what)
    {
        try
        {
            return ReadChecked(stream, what);
        }
        catch (OverflowException e)
        {
            throw new InvalidDataException($"{what}: impossible sizes in the header (arithmetic overflow): {e.Message}", e);
        }
    }

    private static Header ReadChecked(Stream stream, string what)
    {
        var r = new Cursor(stream, what);
        var magic = r.Bytes(4);
        if (magic[0] != 'C' || magic[1] != 'D' || magic[2] != 'F')
            throw new InvalidDataException($"{what}: not a NetCDF-3 file (no 'CDF' signature)");
        var format = magic[3] switch
        {
            1 => NetCdfFormat.Classic,
            2 => NetCdfFormat.Offset64,
            5 => NetCdfFormat.Data64,
            var v => throw new InvalidDataException($"{what}: unknown NetCDF-3 version byte {v} (1, 2 or 5 expected)"),
        };
        r.Wide = format == NetCdfFormat.Data64;
        var numrecsRaw = r.Wide ? r.Int64() : r.UInt32();
        var streaming = !r.Wide && numrecsRaw == Streaming || r.Wide && numrecsRaw == -1;

        var dims = new List<NcDimension>();
        var tag = r.Int32();
        var n = r.Count("dimensions");
        if (tag != 0 && tag != NcDimension) throw new InvalidDataException($"{what}: byte {r.Position - 8}: expected the dimension list, found tag {tag}");
        for (var i = 0; i < n; i++)
        {
            var name = r.Name();
            var length = r.Count($"length of dimension '{name}'");
            dims.Add(new NcDimension(name, length, length == 0));
        }
        var gatts = ReadAttributes(r, "global attributes");

        tag = r.Int32();
        n = r.Count("variables");
        if (tag != 0 && tag != NcVariable) throw new InvalidDataException($"{what}: byte {r.Position}: expected the variable list, found tag {tag}");
        var raw = new List<(string Name, int[] DimIds, List<NcAttribute> Atts, NcType Type, long VSize, long Begin)>();
        for (var i = 0; i < n; i++)
        {
            var name = r.Name();
            var rank = r.Count($"rank of variable '{name}'");
            var ids = new int[rank];
            for (var d = 0; d < rank; d++)
            {
                var id = r.Count($"dimension id of variable '{name}'");
                if (id >= dims.Count) throw new InvalidDataException($"{what}: variable '{name}' names dimension id {id}; the file has {dims.Count}");
                ids[d] = (int)id;
            }
            var atts = ReadAttributes(r, $"attributes of variable '{name}'");
            var type = r.Type($"type of variable '{name}'", format);
            var vsize = r.Wide ? r.Int64() : r.UInt32();
            var begin = format == NetCdfFormat.Classic ? r.UInt32() : r.Int64();
            raw.Add((name, ids, atts, type, vsize, begin));
        }
        var headerLength = r.Position;

        var recordVars = raw.Where(v => v.DimIds.Length > 0 && dims[v.DimIds[0]].IsUnlimited).ToList();
        long recSize;
        if (recordVars.Count == 1)
        {
            // A single record variable's records are not padded (the spec's special case).
            var v = recordVars[0];
            recSize = v.DimIds.Skip(1).Aggregate((long)v.Type.Size(), (a, id) => checked(a * dims[id].Length));
        }
        else
        {
            recSize = checked(recordVars.Sum(v => v.VSize));
        }
        long numrecs = numrecsRaw;
        if (streaming)
        {
            var firstRecord = recordVars.Count == 0 ? stream.Length : recordVars.Min(v => v.Begin);
            numrecs = recSize == 0 ? 0 : Math.Max(0, (stream.Length - firstRecord) / recSize);
        }
        // The record dimension's current length is numrecs.
        for (var i = 0; i < dims.Count; i++)
            if (dims[i].IsUnlimited) dims[i] = dims[i] with { Length = numrecs };

        var variables = new List<NcVariable>();
        foreach (var v in raw)
        {
            var dimNames = v.DimIds.Select(id => dims[id].Name).ToArray();
            var shape = v.DimIds.Select(id => dims[id].Length).ToArray();
            var isRecord = recordVars.Contains(v);
            var elementBytes = (long)v.Type.Size();
            string? problem = null;
            NcStorage storage;
            if (isRecord)
            {
                var perRecord = shape.Skip(1).Aggregate(elementBytes, (a, b) => checked(a * b));
                var chunkShape = new int[shape.Length];
                chunkShape[0] = 1;
                for (var d = 1; d < shape.Length; d++) chunkShape[d] = (int)Math.Clamp(shape[d], 1, int.MaxValue);
                // Check the extent before listing records: a corrupt numrecs must not make billions of chunks.
                var end = numrecs == 0 ? v.Begin : checked(v.Begin + (numrecs - 1) * recSize + perRecord);
                var chunks = new List<NcChunk>();
                if (numrecs > 0 && end > stream.Length)
                {
                    problem = $"record data ends at byte {end} but the file has {stream.Length} bytes (truncated?)";
                }
                else
                {
                    for (long rec = 0; rec < numrecs; rec++)
                    {
                        var index = new long[shape.Length];
                        index[0] = rec;
                        chunks.Add(new NcChunk(index, v.Begin + rec * recSize, perRecord));
                    }
                }
                storage = new NcStorage(chunkShape, true, [], chunks, Layout: "record");
            }
            else
            {
                var length = shape.Aggregate(elementBytes, (a, b) => checked(a * b));
                var chunkShape = shape.Select(s => (int)Math.Clamp(s, 1, int.MaxValue)).ToArray();
                storage = new NcStorage(chunkShape, true, [], length == 0 ? [] : [new NcChunk(new long[shape.Length], v.Begin, length)]);
                if (v.Begin + length > stream.Length)
                    problem = $"data ends at byte {v.Begin + length} but the file has {stream.Length} bytes (truncated?)";
            }
            if (v.Begin < headerLength && storage.Chunks.Count > 0)
                problem = $"data begins at byte {v.Begin}, inside the header ({headerLength} bytes)";
            variables.Add(new NcVariable(v.Name, v.Type, dimNames, shape, v.Atts, problem is null ? storage : null, problem));
        }
        return new Header(format, dims, gatts, variables, numrecs, recSize, headerLength);
    }

    private static List<NcAttribute> ReadAttributes(Cursor r, string what)
    {
        var tag = r.Int32();
        var n = r.Count(what);
        if (tag != 0 && tag != NcAttribute) throw new InvalidDataException($"{r.What}: byte {r.Position}: expected {what}, found tag {tag}");
        var list = new List<NcAttribute>();
        for (var i = 0; i < n; i++)
        {
            var name = r.Name();
            var type = r.Type($"type of attribute '{name}'", r.Wide ? NetCdfFormat.Data64 : NetCdfFormat.Classic);
            var count = r.Count($"length of attribute '{name}'");
            var size = type.Size();
            var bytes = r.Bytes(checked((int)(count * size)));
            r.Skip(Pad(count * size));
            list.Add(new NcAttribute(name, type, Decode(type, bytes, (int)count)));
        }
        return list;
    }

    internal static object Decode(NcType type, byte[] b, int count)
    {
        switch (type)
        {
            case NcType.Char:
                var end = Array.IndexOf(b, (byte)0);
                return Encoding.UTF8.GetString(b, 0, end < 0 ? b.Length : end);
            case NcType.Byte: return b.Select(x => (sbyte)x).ToArray();
            case NcType.UByte: return b.ToArray();
            case NcType.Short: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(i * 2))).ToArray();
            case NcType.UShort: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i * 2))).ToArray();
            case NcType.Int: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(i * 4))).ToArray();
            case NcType.UInt: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(i * 4))).ToArray();
            case NcType.Float: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadSingleBigEndian(b.AsSpan(i * 4))).ToArray();
            case NcType.Double: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadDoubleBigEndian(b.AsSpan(i * 8))).ToArray();
            case NcType.Int64: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadInt64BigEndian(b.AsSpan(i * 8))).ToArray();
            case NcType.UInt64: return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(i * 8))).ToArray();
            default: throw new NotSupportedException($"attribute type {type}");
        }
    }

    private static long Pad(long n) => (4 - n % 4) % 4;

    /// <summary>A forward reader over the header with the position, for messages that say where.</summary>
    private sealed class Cursor(Stream stream, string what)
    {
        private readonly byte[] _eight = new byte[8];

        public string What { get; } = what;
        public bool Wide { get; set; }
        public long Position { get; private set; }

        public byte[] Bytes(int n)
        {
            if (n < 0 || Position + n > stream.Length)
                throw new InvalidDataException($"{What}: the header is truncated: needs {n} bytes at byte {Position}, the file has {stream.Length}");
            var b = new byte[n];
            stream.Position = Position;
            stream.ReadExactly(b);
            Position += n;
            return b;
        }

        public void Skip(long n) => Position += n;

        private ReadOnlySpan<byte> Fixed(int n)
        {
            if (Position + n > stream.Length)
                throw new InvalidDataException($"{What}: the header is truncated: needs {n} bytes at byte {Position}, the file has {stream.Length}");
            stream.Position = Position;
            stream.ReadExactly(_eight.AsSpan(0, n));
            Position += n;
            return _eight.AsSpan(0, n);
        }

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Fixed(4));
        public long UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Fixed(4));
        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Fixed(8));

        /// <summary>A NON_NEG count: 4 bytes (CDF-1/2) or 8 bytes (CDF-5), sanity-checked against the file size.</summary>
        public long Count(string of)
        {
            var at = Position;
            var n = Wide ? Int64() : Int32();
            if (n < 0 || n > stream.Length * 8 + 1_000_000_000L)
                throw new InvalidDataException($"{What}: byte {at}: {of}: impossible count {n}");
            return n;
        }

        public NcType Type(string of, NetCdfFormat format)
        {
            var at = Position;
            var t = Int32();
            if (t is < 1 or > 11 || t > 6 && format != NetCdfFormat.Data64 && !Wide)
                throw new InvalidDataException($"{What}: byte {at}: {of}: unknown type code {t}");
            return (NcType)t;
        }

        public string Name()
        {
            var n = Count("name length");
            if (n > 1_000_000) throw new InvalidDataException($"{What}: byte {Position}: name of {n} bytes");
            var b = Bytes((int)n);
            Skip(Pad(n));
            return Encoding.UTF8.GetString(b);
        }
    }
}
