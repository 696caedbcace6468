using System.Buffers.Binary;

namespace Pipeline.NetCdf.Hdf5;

/// <summary>
/// Reads the HDF5 version 1 B-tree of raw data chunks (node type 1), the chunk index of layout message version 3
/// that netCDF-4 writes: each leaf key gives a chunk's filtered size, filter mask and element offsets, each child
/// pointer the chunk's file address. This is what h5py's <c>get_chunk_info</c> gives kerchunk's <c>SingleHdf5ToZarr</c>.
/// </summary>
internal static class ChunkIndex
{
    private const int MaxDepth = 64;

    /// <param name="stream">The file.</param>
    /// <param name="root">Address of the root node.</param>
    /// <param name="chunkDims">The layout's chunk dimensions (rank + 1: the last is the element size).</param>
    /// <param name="offsetSize">The superblock's size of offsets.</param>
    public static List<NcChunk> ReadBTree1(Stream stream, ulong root, ulong[] chunkDims, int offsetSize, string what)
    {
        var chunks = new List<NcChunk>();
        var visited = new HashSet<ulong>();
        Visit(stream, root, chunkDims, offsetSize, what, chunks, visited, 0);
        return chunks;
    }

    private static void Visit(Stream stream, ulong address, ulong[] chunkDims, int o, string what, List<NcChunk> chunks, HashSet<ulong> visited, int depth)
    {
        if (depth > MaxDepth) throw new InvalidDataException($"{what}: chunk B-tree deeper than {MaxDepth} levels (corrupt?)");
        if (!visited.Add(address)) throw new InvalidDataException($"{what}: chunk B-tree node at {address} is visited twice (corrupt)");
        var dimensionality = chunkDims.Length;
        var keySize = 8 + 8 * dimensionality;
        var head = Read(stream, address, 8 + 2 * o, what);
        if (head[0] != 'T' || head[1] != 'R' || head[2] != 'E' || head[3] != 'E')
            throw new InvalidDataException($"{what}: no B-tree node ('TREE') at byte {address}");
        if (head[4] != 1) throw new InvalidDataException($"{what}: B-tree node at {address} has type {head[4]}, not 1 (raw data chunks)");
        var level = head[5];
        var entries = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(6));
        var body = Read(stream, address + (ulong)head.Length, entries * (keySize + o) + keySize, what);
        for (var i = 0; i < entries; i++)
        {
            var key = body.AsSpan(i * (keySize + o), keySize);
            var child = ReadOffset(body.AsSpan(i * (keySize + o) + keySize, o));
            if (level > 0)
            {
                Visit(stream, child, chunkDims, o, what, chunks, visited, depth + 1);
                continue;
            }
            var size = BinaryPrimitives.ReadUInt32LittleEndian(key);
            var mask = BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);
            var index = new long[dimensionality - 1];
            for (var d = 0; d < index.Length; d++)
            {
                var offset = BinaryPrimitives.ReadUInt64LittleEndian(key[(8 + 8 * d)..]);
                index[d] = (long)(offset / chunkDims[d]);
            }
            if (child + size > (ulong)stream.Length)
                throw new InvalidDataException($"{what}: chunk [{string.Join(", ", index)}] at byte {child} (+{size}) lies beyond the end of the file ({stream.Length} bytes; truncated?)");
            chunks.Add(new NcChunk(index, (long)child, size, mask));
        }
    }

    /// <summary>
    /// Reads an HDF5 1.10 fixed-array chunk index (layout message version 4, fixed dimensions): the header
    /// ("FAHD") names the data block ("FADB"), whose elements are the chunks' addresses in row-major chunk order
    /// (with filtered size and filter mask when the dataset has filters). Paged data blocks are not supported.
    /// </summary>
    public static List<NcChunk> ReadFixedArray(Stream stream, ulong header, long[] shape, ulong[] chunkDims, bool filtered, int o, int l, string what)
    {
        var h = Read(stream, header, 8 + l + o, what);
        if (h[0] != 'F' || h[1] != 'A' || h[2] != 'H' || h[3] != 'D') throw new InvalidDataException($"{what}: no fixed array header ('FAHD') at byte {header}");
        var clientId = h[5];
        var entrySize = h[6];
        var pageBits = h[7];
        var entries = (long)ReadLength(h.AsSpan(8, l));
        var dataBlock = ReadOffset(h.AsSpan(8 + l, o));
        if (clientId != (filtered ? 1 : 0)) throw new InvalidDataException($"{what}: fixed array client id {clientId} for a {(filtered ? "filtered" : "unfiltered")} dataset");
        if (entries < 0 || entries * entrySize > stream.Length) throw new InvalidDataException($"{what}: fixed array of {entries} chunks cannot fit in the file");
        if (pageBits < 63 && entries > 1L << pageBits) throw new NotSupportedException($"paged fixed-array chunk index ({entries} chunks)");
        if (entrySize < o + (filtered ? 5 : 0)) throw new InvalidDataException($"{what}: fixed array entries of {entrySize} bytes");
        var rank = shape.Length;
        var counts = new long[rank];
        var expected = 1L;
        for (var d = 0; d < rank; d++) { counts[d] = (shape[d] + (long)chunkDims[d] - 1) / (long)chunkDims[d]; expected *= counts[d]; }
        if (expected > entries) throw new InvalidDataException($"{what}: fixed array holds {entries} chunks, the shape needs {expected}");
        var head = 4 + 1 + 1 + o;
        var body = Read(stream, dataBlock, head + (int)(entries * entrySize), what);
        if (body[0] != 'F' || body[1] != 'A' || body[2] != 'D' || body[3] != 'B') throw new InvalidDataException($"{what}: no fixed array data block ('FADB') at byte {dataBlock}");
        var unfilteredSize = chunkDims.Aggregate(1UL, (a, b) => a * b);
        var sizeField = entrySize - o - 4;
        var chunks = new List<NcChunk>();
        for (long i = 0; i < expected; i++)
        {
            var e = body.AsSpan(head + (int)(i * entrySize), entrySize);
            var address = ReadOffset(e[..o]);
            if (address == Undefined(o)) continue;
            ulong size = unfilteredSize;
            uint mask = 0;
            if (filtered)
            {
                size = ReadLength(e.Slice(o, sizeField));
                mask = BinaryPrimitives.ReadUInt32LittleEndian(e[(o + sizeField)..]);
            }
            var index = new long[rank];
            var rem = i;
            for (var d = rank - 1; d >= 0; d--) { index[d] = rem % counts[d]; rem /= counts[d]; }
            if (address + size > (ulong)stream.Length)
                throw new InvalidDataException($"{what}: chunk [{string.Join(", ", index)}] at byte {address} (+{size}) lies beyond the end of the file ({stream.Length} bytes; truncated?)");
            chunks.Add(new NcChunk(index, (long)address, (long)size, mask));
        }
        return chunks;
    }

    private static ulong Undefined(int o) => o == 8 ? ulong.MaxValue : (1UL << (8 * o)) - 1;

    private static ulong ReadLength(ReadOnlySpan<byte> b)
    {
        ulong v = 0;
        for (var i = b.Length - 1; i >= 0; i--) v = v << 8 | b[i];
        return v;
    }

    private static ulong ReadOffset(ReadOnlySpan<byte> b) => b.Length switch
    {
        8 => BinaryPrimitives.ReadUInt64LittleEndian(b),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(b),
        2 => BinaryPrimitives.ReadUInt16LittleEndian(b),
        _ => throw new NotSupportedException($"offsets of {b.Length} bytes"),
    };

    private static byte[] Read(Stream stream, ulong address, int length, string what)
    {
        if (address + (ulong)length > (ulong)stream.Length)
            throw new InvalidDataException($"{what}: chunk B-tree node at byte {address} (+{length}) lies beyond the end of the file ({stream.Length} bytes; truncated?)");
        var b = new byte[length];
        stream.Position = (long)address;
        stream.ReadExactly(b);
        return b;
    }
}
