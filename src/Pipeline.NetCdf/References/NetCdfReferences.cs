using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;

namespace Pipeline.NetCdf.References;

/// <summary>How <see cref="NetCdfReferences"/> builds a reference set.</summary>
public sealed record ReferenceOptions
{
    /// <summary>Chunks of at most this many stored bytes are inlined (kerchunk's <c>inline_threshold</c>; 0: never).</summary>
    public int InlineThreshold { get; init; } = 500;

    /// <summary>1-D coordinate variables (name = dimension) up to this many bytes are inlined decoded and uncompressed, so that combining can read them.</summary>
    public long InlineCoordinateLimit { get; init; } = 1 << 20;

    /// <summary>
    /// Where converted variables' Zarr chunks go (keys under <see cref="ConvertedPrefix"/>), referenced by URL;
    /// null: converted chunks are inlined into the reference set.
    /// </summary>
    public IObjectStore? ConvertStore { get; init; }

    /// <summary>Key prefix in <see cref="ConvertStore"/>; default: the file name.</summary>
    public string? ConvertedPrefix { get; init; }

    /// <summary>Largest variable (decoded bytes) converted in memory; a larger one fails with a problem instead.</summary>
    public long MaxConvertBytes { get; init; } = 1L << 30;

    /// <summary>The compressor of converted chunks (zarr-readable).</summary>
    public IBytesCodec ConvertCodec { get; init; } = new ZlibCodec(4);
}

/// <summary>What happened to one variable.</summary>
public enum VariableOutcome
{
    /// <summary>Chunks point at byte ranges of the original file.</summary>
    Referenced,
    /// <summary>All chunks inlined into the reference set.</summary>
    Inlined,
    /// <summary>Its codecs are not zarr-readable (fletcher32, szip, nbit, ...): decoded and rewritten as Zarr chunks.</summary>
    Converted,
    /// <summary>Not in the reference set; <see cref="VariableProblem"/> says why.</summary>
    Failed,
}

/// <summary>The references of one file, with what happened to each variable and the problems met.</summary>
public sealed record NetCdfReferenceResult(ReferenceSet References, IReadOnlyDictionary<string, VariableOutcome> Outcomes, IReadOnlyList<VariableProblem> Problems)
{
    public IEnumerable<string> With(VariableOutcome outcome) => Outcomes.Where(p => p.Value == outcome).Select(p => p.Key);
}

/// <summary>
/// Kerchunk reference sets (version 1) for NetCDF files, shaped as kerchunk's <c>SingleHdf5ToZarr</c> and
/// <c>NetCDF3ToZarr</c> write them: a Zarr v2 group whose arrays keep the file's dtype (big-endian for NetCDF-3)
/// and chunking (NetCDF-3 record variables one record per chunk), HDF5 deflate as numcodecs <c>zlib</c> and
/// shuffle as <c>shuffle</c> (elementsize) in <c>filters</c>; <c>_FillValue</c> becomes the Zarr
/// <c>fill_value</c>; every other attribute (scale_factor, add_offset, units, ...) is kept so that xarray decodes
/// CF; <c>_ARRAY_DIMENSIONS</c> names the dimensions. Small chunks and 1-D coordinates are inlined; variables whose
/// filters zarr cannot read are converted (decoded and written as Zarr chunks); a variable that cannot be read at
/// all is left out with a problem, and the rest of the file is still indexed.
/// </summary>
public static partial class NetCdfReferences
{
    public static NetCdfReferenceResult Build(NetCdfFile file, string sourceUrl, ReferenceOptions? options = null) =>
        options?.ConvertStore is not null
            ? throw new ArgumentException("with a ConvertStore use BuildAsync", nameof(options))
            : BuildAsync(file, sourceUrl, options).GetAwaiter().GetResult();

    public static async Task<NetCdfReferenceResult> BuildAsync(NetCdfFile file, string sourceUrl, ReferenceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceUrl);
        options ??= new ReferenceOptions();
        var set = new ReferenceSet();
        var outcomes = new Dictionary<string, VariableOutcome>(StringComparer.Ordinal);
        var problems = new List<VariableProblem>(file.Skipped);
        set.SetText(".zgroup", "{\"zarr_format\":2}");
        var globals = new JsonObject();
        foreach (var a in file.Attributes) globals[a.Name] = a.ToJson();
        set.SetText(".zattrs", Json(globals));

        foreach (var v in file.Variables)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!StoreKey.IsValid(v.Name + "/.zarray"))
            {
                Fail(v, $"the name is not a valid Zarr key");
                continue;
            }
            if (v.Problem is not null && v.Storage is null && !CanConvert(file, v))
            {
                Fail(v, v.Problem);
                continue;
            }
            try
            {
                // Each variable is built apart and copied in only when complete: a failure leaves no partial array.
                var local = new ReferenceSet();
                var outcome = await AddVariableAsync(file, v, sourceUrl, options, local, problems, cancellationToken).ConfigureAwait(false);
                foreach (var key in local.Keys) set.Set(key, local[key]);
                outcomes[v.Name] = outcome;
            }
            catch (Exception e) when (e is not OperationCanceledException) // any failure stays this variable's problem
            {
                Fail(v, e.Message);
            }
        }
        return new NetCdfReferenceResult(set, outcomes, problems);

        void Fail(NcVariable v, string message)
        {
            outcomes[v.Name] = VariableOutcome.Failed;
            problems.Add(new VariableProblem(file.Path, v.Name, message));
        }
    }

    // HDF5 variables whose chunk index we cannot read can still be converted: PureHDF reads them.
    private static bool CanConvert(NetCdfFile file, NcVariable v) => file.Format == NetCdfFormat.Hdf5 && v.Type.Size() > 0 && v.Shape.Length == v.Dimensions.Count;

    private static async Task<VariableOutcome> AddVariableAsync(NetCdfFile file, NcVariable v, string url, ReferenceOptions options, ReferenceSet set,
        List<VariableProblem> problems, CancellationToken ct)
    {
        var storage = v.Storage;
        var size = v.Type.Size();
        if (size == 0) throw new NotSupportedException($"{v.Type} variables have no fixed-size Zarr dtype");
        var attrs = new JsonObject();
        var fill = FillValue(v);
        foreach (var a in v.Attributes)
            if (a.Name != "_FillValue" || fill is null) attrs[a.Name] = a.ToJson(); // a _FillValue zarr cannot hold stays an attribute
        attrs["_ARRAY_DIMENSIONS"] = new JsonArray([.. v.Dimensions.Select(d => (JsonNode)d)]);

        // 1. Coordinates, and small variables whose one chunk along an unlimited dimension is longer than the
        //    data (netCDF-4 gives 1-D unlimited variables 1024-element chunks): inline decoded, one chunk, so that
        //    a run can concatenate them.
        var bytes = v.ElementCount * size;
        var oversized = storage is not null && v.Dimensions.Select((d, i) => (d, i))
            .Any(x => file.Dimensions.Any(fd => fd.Name == x.d && fd.IsUnlimited) && storage.ChunkShape[x.i] > v.Shape[x.i]);
        if ((v.IsCoordinate || oversized) && bytes <= options.InlineCoordinateLimit && v.Type != NcType.Char)
        {
            var values = file.ReadValues(v);
            SetArray(set, v, v.Type.NumpyType(bigEndian: false), v.Shape.Select(s => (int)Math.Max(1, s)).ToArray(), null, fill, attrs);
            if (values.Length > 0) set.Set(v.Name + "/0", KerchunkRef.Bytes(values));
            return VariableOutcome.Inlined;
        }

        // 2. Why it cannot be referenced as stored.
        string? convertWhy = v.Problem;
        JsonArray? filters = null;
        if (storage is not null && convertWhy is null)
        {
            (filters, convertWhy) = ZarrFilters(storage, size);
            if (convertWhy is null && storage.Chunks.Any(c => c.FilterMask != 0))
                convertWhy = "some chunks skip filters (HDF5 filter mask)";
        }
        if (convertWhy is not null)
        {
            await ConvertAsync(file, v, options, set, fill, attrs, ct).ConfigureAwait(false);
            problems.Add(new VariableProblem(file.Path, v.Name, $"converted to Zarr chunks: {convertWhy}"));
            return VariableOutcome.Converted;
        }

        // 3. References (or inline chunks for small variables and compact data).
        var s = storage!;
        var dtype = v.Type.NumpyType(s.BigEndian);
        if (s.CompactData is { } compact)
        {
            SetArray(set, v, dtype, s.ChunkShape, null, fill, attrs);
            var need = (int)bytes;
            if (compact.Length < need) throw new InvalidDataException($"compact data holds {compact.Length} bytes, the shape needs {need}");
            set.Set(v.Name + "/" + ChunkKey(new long[v.Shape.Length]), KerchunkRef.Bytes(compact[..need]));
            return VariableOutcome.Inlined;
        }
        var expectedChunks = 1L;
        for (var d = 0; d < v.Shape.Length; d++) expectedChunks *= (v.Shape[d] + s.ChunkShape[d] - 1) / s.ChunkShape[d];
        if (s.Chunks.Count < expectedChunks && fill is null && v.Type != NcType.Char)
            fill = DefaultFill(v.Type); // what netCDF reads where nothing was written
        SetArray(set, v, dtype, s.ChunkShape, filters, fill, attrs);
        var total = s.Chunks.Sum(c => c.Length);
        var inline = total <= options.InlineThreshold;
        foreach (var c in s.Chunks.OrderBy(c => c.Index, IndexOrder.Instance))
        {
            if (c.Offset + c.Length > file.Length)
                throw new InvalidDataException($"chunk [{string.Join(", ", c.Index)}] at byte {c.Offset} (+{c.Length}) lies beyond the end of the file ({file.Length} bytes; truncated?)");
            var key = v.Name + "/" + ChunkKey(c.Index);
            set.Set(key, inline ? KerchunkRef.Bytes(file.ReadBytes(c.Offset, c.Length)) : KerchunkRef.Range(url, c.Offset, c.Length));
        }
        return inline && s.Chunks.Count > 0 ? VariableOutcome.Inlined : VariableOutcome.Referenced;
    }

    /// <summary>The HDF5 filter pipeline as numcodecs filters, or why zarr cannot read it.</summary>
    internal static (JsonArray? Filters, string? Why) ZarrFilters(NcStorage s, int elementSize)
    {
        if (s.Filters.Count == 0) return (null, null);
        var list = new JsonArray();
        foreach (var f in s.Filters)
        {
            switch (f.Id)
            {
                case NcFilter.Deflate:
                    list.Add(new JsonObject { ["id"] = "zlib", ["level"] = f.ClientData.Length > 0 ? (int)f.ClientData[0] : 4 });
                    break;
                case NcFilter.Shuffle:
                    list.Add(new JsonObject { ["id"] = "shuffle", ["elementsize"] = f.ClientData.Length > 0 ? (int)f.ClientData[0] : elementSize });
                    break;
                case NcFilter.Fletcher32:
                    return (null, "the fletcher32 checksum filter has no numcodecs equivalent");
                default:
                    return (null, $"the {f} filter is not one zarr reads (only deflate and shuffle)");
            }
        }
        return (list, null);
    }

    private static async Task ConvertAsync(NetCdfFile file, NcVariable v, ReferenceOptions options, ReferenceSet set, double? fill, JsonObject attrs, CancellationToken ct)
    {
        var size = v.Type.Size();
        var decodedBytes = v.Shape.Aggregate((double)size, (a, b) => a * b);
        if (decodedBytes > options.MaxConvertBytes)
            throw new InvalidDataException($"{v.Problem ?? "it cannot be referenced"}; converting it would decode {decodedBytes:0} bytes, more than the {options.MaxConvertBytes} allowed");
        byte[] values;
        try
        {
            values = file.ReadValues(v);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var why = v.Problem ?? (v.Storage is { } st ? ZarrFilters(st, size).Why : null) ?? "it cannot be referenced";
            throw new InvalidDataException($"{why}; converting it failed too: {Unprefixed(e.Message, file, v)}", e);
        }
        var chunkShape = v.Storage?.ChunkShape ?? v.Shape.Select(s => (int)Math.Max(1, s)).ToArray();
        var codec = options.ConvertCodec;
        SetArray(set, v, v.Type.NumpyType(bigEndian: false), chunkShape, null, fill, attrs, codec.V2Config());
        var fillBytes = FillBytes(v.Type, fill);
        var prefix = options.ConvertedPrefix ?? Path.GetFileName(file.Path);
        foreach (var (index, raw) in ChunkGrid.Split(values, v.Shape, chunkShape, size, fillBytes))
        {
            var encoded = codec.Encode(raw);
            var key = v.Name + "/" + ChunkKey(index);
            if (options.ConvertStore is { } store)
            {
                var storeKey = prefix + "/" + key;
                await store.PutAsync(storeKey, encoded, ct).ConfigureAwait(false);
                set.Set(key, KerchunkRef.Range(store.Location.TrimEnd('/') + "/" + storeKey, 0, encoded.Length));
            }
            else
            {
                set.Set(key, KerchunkRef.Bytes(encoded));
            }
        }
    }

    private static void SetArray(ReferenceSet set, NcVariable v, string dtype, int[] chunks, JsonArray? filters, double? fill, JsonObject attrs, JsonObject? compressor = null)
    {
        var zarray = new JsonObject
        {
            ["chunks"] = new JsonArray([.. chunks.Select(c => (JsonNode)c)]),
            ["compressor"] = compressor,
            ["dtype"] = dtype,
            ["fill_value"] = FillNode(v.Type, fill),
            ["filters"] = filters,
            ["order"] = "C",
            ["shape"] = new JsonArray([.. v.Shape.Select(s => (JsonNode)s)]),
            ["zarr_format"] = 2,
        };
        set.SetText(v.Name + "/.zarray", Json(zarray));
        set.SetText(v.Name + "/.zattrs", Json(attrs));
    }

    private static JsonNode? FillNode(NcType t, double? fill)
    {
        if (fill is not { } f) return null;
        if (t.IsFloat()) return JsonValue.Create(f);
        return t == NcType.UInt64 ? JsonValue.Create((ulong)f) : JsonValue.Create((long)f);
    }

    /// <summary>The _FillValue as a Zarr fill_value: null when absent or not a value of the variable's type (NaN for an integer).</summary>
    private static double? FillValue(NcVariable v)
    {
        var a = v.Attribute("_FillValue");
        if (a is null || v.Type == NcType.Char || a.AsDouble() is not { } f) return null;
        if (v.Type.IsFloat()) return f;
        if (!double.IsFinite(f) || Math.Floor(f) != f) return null;
        var (min, max) = v.Type switch
        {
            NcType.Byte => (sbyte.MinValue, sbyte.MaxValue),
            NcType.UByte => (0, byte.MaxValue),
            NcType.Short => (short.MinValue, short.MaxValue),
            NcType.UShort => (0, ushort.MaxValue),
            NcType.Int => (int.MinValue, int.MaxValue),
            NcType.UInt => (0, uint.MaxValue),
            NcType.Int64 => (long.MinValue, (double)long.MaxValue),
            _ => (0, (double)ulong.MaxValue),
        };
        return f >= min && f <= max ? f : null;
    }

    /// <summary>NetCDF's default fill values (netcdf.h NC_FILL_*).</summary>
    internal static double DefaultFill(NcType t) => t switch
    {
        NcType.Byte => -127,
        NcType.UByte => 255,
        NcType.Short => -32767,
        NcType.UShort => 65535,
        NcType.Int => -2147483647,
        NcType.UInt => 4294967295,
        NcType.Int64 => -9223372036854775806,
        NcType.UInt64 => 18446744073709551614,
        NcType.Float => 9.9692099683868690e+36f,
        _ => 9.9692099683868690e+36,
    };

    private static byte[] FillBytes(NcType t, double? fill)
    {
        var f = fill ?? 0;
        return t switch
        {
            NcType.Byte => [(byte)(sbyte)f],
            NcType.UByte or NcType.Char => [(byte)f],
            NcType.Short => BitConverter.GetBytes((short)f),
            NcType.UShort => BitConverter.GetBytes((ushort)f),
            NcType.Int => BitConverter.GetBytes((int)f),
            NcType.UInt => BitConverter.GetBytes((uint)f),
            NcType.Int64 => BitConverter.GetBytes((long)f),
            NcType.UInt64 => BitConverter.GetBytes((ulong)f),
            NcType.Float => BitConverter.GetBytes((float)f),
            _ => BitConverter.GetBytes(f),
        };
    }

    internal static string ChunkKey(long[] index) =>
        index.Length == 0 ? "0" : string.Join('.', index.Select(i => i.ToString(CultureInfo.InvariantCulture)));

    private static string Unprefixed(string message, NetCdfFile file, NcVariable v)
    {
        var prefix = $"{file.Path}: variable '{v.Name}': ";
        return message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
    }

    internal static string Json(JsonNode node) =>
        NonFiniteMarker().Replace(CanonicalJson.SerializeToString(node, indented: false), "$1");

    // Attribute values NaN/Infinity: bare tokens, as Python's json.dumps writes them and json.loads reads them.
    [System.Text.RegularExpressions.GeneratedRegex("\"" + NcAttribute.NonFinite + "(NaN|Infinity|-Infinity)\"")]
    private static partial System.Text.RegularExpressions.Regex NonFiniteMarker();

    private sealed class IndexOrder : IComparer<long[]>
    {
        public static readonly IndexOrder Instance = new();

        public int Compare(long[]? x, long[]? y)
        {
            for (var i = 0; i < Math.Min(x!.Length, y!.Length); i++)
            {
                var c = x[i].CompareTo(y[i]);
                if (c != 0) return c;
            }
            return x.Length.CompareTo(y.Length);
        }
    }
}
