using System.Reflection;

namespace Pipeline.NetCdf.Hdf5;

/// <summary>
/// What PureHDF 2.2 knows but does not make public: a dataset's layout message (chunk dimensions, index address,
/// contiguous address and size, compact bytes), its filter pipeline, the datatype's byte order, and the
/// superblock's sizes of offsets and lengths. Reached by reflection over the pinned PureHDF version; any change
/// of PureHDF's internals surfaces as <see cref="NotSupportedException"/> naming the member (per variable, so the
/// rest of the file is still indexed). The chunk index itself is read by <see cref="ChunkIndex"/>.
/// </summary>
internal static class Hdf5Internals
{
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

    public sealed record Layout(string Class, ulong Address, ulong Size, ulong[] ChunkDims, int LayoutVersion,
        string? IndexType, ulong SingleChunkFilteredSize, uint SingleChunkFilters, byte[]? CompactData, bool IndexMissing);

    public static object Get(object target, string name)
    {
        var p = target.GetType().GetProperty(name, All) ?? throw new NotSupportedException($"PureHDF internals changed: no '{name}' on {target.GetType().Name}");
        return p.GetValue(target) ?? throw new NotSupportedException($"PureHDF internals: '{name}' is null on {target.GetType().Name}");
    }

    private static object? TryGet(object target, string name) => target.GetType().GetProperty(name, All)?.GetValue(target);

    public static (int OffsetSize, int LengthSize) Sizes(object nativeObject)
    {
        var superblock = Get(Get(nativeObject, "Context"), "Superblock");
        return (Convert.ToInt32(Get(superblock, "OffsetsSize")), Convert.ToInt32(Get(superblock, "LengthsSize")));
    }

    /// <summary>The end-of-file address the superblock declares (the file's length when it was written).</summary>
    public static ulong EndOfFile(object nativeObject) => Convert.ToUInt64(Get(Get(Get(nativeObject, "Context"), "Superblock"), "EndOfFileAddress"));

    public static bool IsBigEndian(object dataset)
    {
        var type = TryGet(dataset, "InternalDataType");
        var bitField = type is null ? null : TryGet(type, "BitField");
        var order = bitField is null ? null : TryGet(bitField, "ByteOrder");
        return order?.ToString() == "BigEndian";
    }

    public static List<NcFilter> Filters(object dataset)
    {
        var pipeline = TryGet(dataset, "InternalFilterPipeline");
        if (pipeline is null) return [];
        var list = new List<NcFilter>();
        foreach (var d in (Array)Get(pipeline, "FilterDescriptions"))
        {
            var id = Convert.ToInt32(Get(d!, "Identifier"));
            var name = TryGet(d!, "Name") as string ?? "";
            var data = TryGet(d!, "ClientData") as uint[] ?? [];
            list.Add(new NcFilter(id, name, data));
        }
        return list;
    }

    public static Layout LayoutOf(object dataset)
    {
        var message = Get(dataset, "InternalDataLayout");
        var cls = Get(message, "LayoutClass").ToString()!;
        var version = Convert.ToInt32(TryGet(message, "Version") ?? 3);
        var props = TryGet(message, "Properties")
            ?? throw new NotSupportedException($"data layout message version {version} ({message.GetType().Name}) has no storage properties we can read");
        var address = Convert.ToUInt64(TryGet(props, "Address") ?? ulong.MaxValue);
        switch (cls)
        {
            case "Compact":
                return new Layout("compact", address, 0, [], version, null, 0, 0, (byte[])Get(props, "Data"), false);
            case "Contiguous":
                return new Layout("contiguous", address, Convert.ToUInt64(Get(props, "Size")), [], version, null, 0, 0, null, address == ulong.MaxValue);
            case "Chunked":
                var dims = Get(props, "DimensionSizes") switch
                {
                    uint[] u => u.Select(x => (ulong)x).ToArray(),
                    ulong[] l => l,
                    var o => throw new NotSupportedException($"chunk dimensions of type {o.GetType().Name}"),
                };
                string indexType = "btree1";
                ulong filteredSize = 0;
                uint filters = 0;
                if (TryGet(props, "IndexingInformation") is { } info)
                {
                    indexType = info.GetType().Name.Replace("IndexingInformation", "", StringComparison.Ordinal);
                    if (indexType == "SingleChunk")
                    {
                        filteredSize = Convert.ToUInt64(TryGet(info, "FilteredChunkSize") ?? 0UL);
                        filters = Convert.ToUInt32(TryGet(info, "ChunkFilters") ?? 0U);
                    }
                }
                return new Layout("chunked", address, 0, dims, version, indexType, filteredSize, filters, null, address == ulong.MaxValue);
            default:
                throw new NotSupportedException($"{cls} storage (only contiguous, chunked and compact)");
        }
    }
}
