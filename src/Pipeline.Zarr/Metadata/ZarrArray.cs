using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;

namespace Pipeline.Zarr.Metadata;

public enum ZarrFormat
{
    V2 = 2,
    V3 = 3,
}

/// <summary>
/// One Zarr array: where it lives in the hierarchy (<c>Path</c>, '/'-separated, no leading '/'), its type, shape,
/// chunk shape, dimension names (written as <c>_ARRAY_DIMENSIONS</c> in v2, <c>dimension_names</c> in v3),
/// attributes, codecs and fill value (null: none; NaN for missing floats).
/// </summary>
public sealed record ZarrArray
{
    public ZarrArray(string path, ZarrDataType dataType, long[] shape, int[] chunks, string[] dimensions,
        JsonObject? attributes = null, CodecPipeline? codecs = null, double? fillValue = null)
    {
        Storage.StoreKey.Validate(path);
        if (shape.Length != chunks.Length)
            throw new ArgumentException($"array '{path}': shape has {shape.Length} dimensions but chunks has {chunks.Length}", nameof(chunks));
        if (dimensions.Length != shape.Length)
            throw new ArgumentException($"array '{path}': {dimensions.Length} dimension names for {shape.Length} dimensions", nameof(dimensions));
        if (shape.Any(s => s < 0)) throw new ArgumentException($"array '{path}': negative shape", nameof(shape));
        if (chunks.Any(c => c < 1)) throw new ArgumentException($"array '{path}': chunk sizes must be at least 1", nameof(chunks));
        Path = path;
        DataType = dataType;
        Shape = shape;
        Chunks = chunks;
        Dimensions = dimensions;
        Attributes = attributes ?? [];
        Codecs = codecs ?? CodecPipeline.None;
        FillValue = fillValue;
    }

    public string Path { get; }
    public ZarrDataType DataType { get; }
    public long[] Shape { get; init; }
    public int[] Chunks { get; }
    public string[] Dimensions { get; }
    public JsonObject Attributes { get; }
    public CodecPipeline Codecs { get; }
    public double? FillValue { get; }

    public int Rank => Shape.Length;

    /// <summary>Number of chunks along dimension <paramref name="d"/>.</summary>
    public long ChunkCount(int d) => (Shape[d] + Chunks[d] - 1) / Chunks[d];

    public long ElementsPerChunk => Chunks.Aggregate(1L, (a, c) => a * c);

    /// <summary>The same array with another shape (a growing dimension).</summary>
    public ZarrArray WithShape(long[] shape)
    {
        if (shape.Length != Rank) throw new ArgumentException($"array '{Path}': rank {shape.Length} for a rank {Rank} array", nameof(shape));
        return this with { Shape = shape };
    }

    /// <summary>The object key of a chunk (relative to the store root).</summary>
    public string ChunkKey(ZarrFormat format, ReadOnlySpan<long> index)
    {
        if (index.Length != Rank) throw new ArgumentException($"array '{Path}': chunk index of rank {index.Length} for rank {Rank}");
        var parts = new string[index.Length];
        for (var i = 0; i < index.Length; i++) parts[i] = index[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return format == ZarrFormat.V2
            ? Path + "/" + (Rank == 0 ? "0" : string.Join('.', parts))
            : Path + "/c" + (Rank == 0 ? "" : "/" + string.Join('/', parts));
    }

    /// <summary>The v2 <c>.zarray</c> document.</summary>
    public JsonObject V2Metadata()
    {
        var filters = Codecs.Filters.Count == 0 ? null : new JsonArray([.. Codecs.Filters.Select(f => (JsonNode)f.V2Config())]);
        return new JsonObject
        {
            ["chunks"] = new JsonArray([.. Chunks.Select(c => (JsonNode)c)]),
            ["compressor"] = Codecs.Compressor?.V2Config(),
            ["dtype"] = DataType.V2Name,
            ["fill_value"] = FillNode(v3: false),
            ["filters"] = filters,
            ["order"] = "C",
            ["shape"] = new JsonArray([.. Shape.Select(s => (JsonNode)s)]),
            ["zarr_format"] = 2,
        };
    }

    /// <summary>The v2 <c>.zattrs</c> document: the attributes plus <c>_ARRAY_DIMENSIONS</c> for xarray.</summary>
    public JsonObject V2Attributes()
    {
        var attrs = (JsonObject)Attributes.DeepClone();
        attrs["_ARRAY_DIMENSIONS"] = new JsonArray([.. Dimensions.Select(d => (JsonNode)d)]);
        return attrs;
    }

    /// <summary>The v3 <c>zarr.json</c> document of this array.</summary>
    public JsonObject V3Metadata()
    {
        var codecs = new JsonArray
        {
            new JsonObject { ["name"] = "bytes", ["configuration"] = new JsonObject { ["endian"] = "little" } },
        };
        if (Codecs.Filters.Count > 0)
            throw new NotSupportedException($"array '{Path}': filters ({string.Join(", ", Codecs.Filters.Select(f => f.Id))}) have no Zarr v3 core codec");
        if (Codecs.Compressor is { } c)
            codecs.Add(c.V3Config() ?? throw new NotSupportedException($"array '{Path}': '{c.Id}' is not a Zarr v3 codec; use zstd or gzip"));
        return new JsonObject
        {
            ["zarr_format"] = 3,
            ["node_type"] = "array",
            ["shape"] = new JsonArray([.. Shape.Select(s => (JsonNode)s)]),
            ["data_type"] = DataType.V3Name,
            ["chunk_grid"] = new JsonObject
            {
                ["name"] = "regular",
                ["configuration"] = new JsonObject { ["chunk_shape"] = new JsonArray([.. Chunks.Select(x => (JsonNode)x)]) },
            },
            ["chunk_key_encoding"] = new JsonObject { ["name"] = "default", ["configuration"] = new JsonObject { ["separator"] = "/" } },
            ["fill_value"] = FillNode(v3: true),
            ["codecs"] = codecs,
            ["attributes"] = Attributes.DeepClone(),
            ["dimension_names"] = new JsonArray([.. Dimensions.Select(d => (JsonNode)d)]),
        };
    }

    private JsonNode? FillNode(bool v3)
    {
        if (FillValue is not { } f) return v3 ? (DataType.IsFloat ? JsonValue.Create(0.0) : JsonValue.Create(0L)) : null;
        if (DataType.IsFloat) return JsonValue.Create(f); // NaN -> "NaN" by CanonicalJson
        return JsonValue.Create((long)f);
    }
}
