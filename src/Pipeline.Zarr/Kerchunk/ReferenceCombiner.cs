using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Metadata;

namespace Pipeline.Zarr.Kerchunk;

/// <summary>
/// Combines single-group reference sets (e.g. one per GRIB message, as <c>scan_grib</c> yields them) along
/// concatenation dimensions such as <c>time</c> and <c>step</c>, the way kerchunk's <c>MultiZarrToZarr</c> does:
/// the concat coordinates become 1-D inline arrays of the sorted distinct values; data variables (arrays with
/// chunks in files) and coordinates that vary between inputs gain the concat dimensions they lack; identical
/// coordinates (latitude, longitude, a fixed level) are copied once. The result does not depend on the order of
/// the inputs; two inputs that put different references on one output key are an error naming the key.
/// </summary>
public static class ReferenceCombiner
{
    public static ReferenceSet Combine(IReadOnlyList<ReferenceSet> inputs, IReadOnlyList<string> concatDims, IReadOnlyCollection<string>? identicalDims = null)
    {
        if (inputs.Count == 0) throw new ArgumentException("nothing to combine", nameof(inputs));
        if (concatDims.Count == 0) throw new ArgumentException("name at least one concat dimension (time, step, ...)", nameof(concatDims));
        identicalDims ??= [];
        // Canonical input order (by content), so that the result never depends on the order files arrived in.
        var parsed = inputs.Select((s, i) => (Input: new Input(s, i), Bytes: s.ToJson()))
            .OrderBy(p => p.Bytes, ByteOrder.Instance).ThenBy(p => p.Input.Index).Select(p => p.Input).ToList();

        // 1. The global coordinate values of every concat dimension: the sorted union.
        var coords = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var coordArray = new Dictionary<string, (JsonObject Zarray, string Zattrs)>(StringComparer.Ordinal);
        foreach (var dim in concatDims)
        {
            var values = new SortedSet<double>();
            foreach (var input in parsed)
            {
                if (!input.Arrays.Contains(dim))
                    throw new InvalidDataException($"input {input.Index} has no '{dim}' coordinate to concatenate along");
                foreach (var v in input.Values(dim)) values.Add(v);
                coordArray.TryAdd(dim, (input.Zarray(dim), input.Set.TryGet(dim + "/.zattrs", out var a) ? a.InlineText : "{}"));
            }
            coords[dim] = [.. values];
        }

        // 2. Which arrays are static (copied once) and which expand along the concat dims they lack.
        var names = new List<string>();
        foreach (var input in parsed)
            foreach (var name in input.Arrays)
                if (!concatDims.Contains(name) && !names.Contains(name)) names.Add(name);

        var output = new ReferenceSet();
        foreach (var t in parsed.SelectMany(p => p.Set.Templates))
        {
            if (output.Templates.TryGetValue(t.Key, out var existing) && existing != t.Value)
                throw new InvalidDataException($"template '{t.Key}' means '{existing}' in one input and '{t.Value}' in another");
            output.Templates[t.Key] = t.Value;
        }
        var first = parsed[0].Set;
        output.Set(".zgroup", first.TryGet(".zgroup", out var g) ? g : KerchunkRef.Text("{\"zarr_format\":2}"));
        if (first.TryGet(".zattrs", out var ga)) output.Set(".zattrs", ga);

        foreach (var dim in concatDims)
        {
            var (zarray, zattrs) = coordArray[dim];
            var dtype = ZarrDataType.FromV2(zarray["dtype"]!.GetValue<string>());
            var n = coords[dim].Count;
            zarray["shape"] = new JsonArray(n);
            zarray["chunks"] = new JsonArray(n);
            output.SetText(dim + "/.zarray", Compact(zarray));
            output.Set(dim + "/0", KerchunkRef.Bytes(EncodeValues(dtype, coords[dim])));
            var attrs = JsonNode.Parse(zattrs)!.AsObject();
            attrs["_ARRAY_DIMENSIONS"] = new JsonArray(dim);
            output.SetText(dim + "/.zattrs", Compact(attrs));
        }

        foreach (var name in names)
        {
            var holders = parsed.Where(p => p.Arrays.Contains(name)).ToList();
            var firstHolder = holders[0];
            var dims = firstHolder.Dimensions(name);
            var isDimensionCoordinate = dims.Count == 1 && dims[0] == name;
            var hasFileChunks = holders.Any(h => h.ChunkKeys(name).Any(k => !h.Set[k].IsInline));
            var identical = holders.Count == parsed.Count && holders.All(h => h.SameArray(firstHolder, name));
            var isStatic = identicalDims.Contains(name) || isDimensionCoordinate || (identical && !hasFileChunks);
            if (isStatic)
            {
                if (!identical)
                    throw new InvalidDataException($"'{name}' is treated as identical but differs between inputs (e.g. input {firstHolder.Index} and {holders.First(h => !h.SameArray(firstHolder, name)).Index})");
                foreach (var key in firstHolder.KeysOf(name)) output.Set(key, firstHolder.Set[key]);
                continue;
            }
            var added = concatDims.Where(c => !dims.Contains(c)).ToList();
            var zarray = firstHolder.Zarray(name);
            var shape = zarray["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToList();
            var chunks = zarray["chunks"]!.AsArray().Select(x => x!.GetValue<long>()).ToList();
            for (var d = 0; d < dims.Count; d++)
            {
                if (concatDims.Contains(dims[d]))
                {
                    if (chunks[d] != 1) throw new InvalidDataException($"'{name}' must have chunk size 1 along '{dims[d]}' to be concatenated");
                    shape[d] = coords[dims[d]].Count;
                }
            }
            var newShape = added.Select(a => (long)coords[a].Count).Concat(shape).ToArray();
            var newChunks = added.Select(_ => 1L).Concat(chunks).ToArray();
            zarray["shape"] = new JsonArray([.. newShape.Select(x => (JsonNode)x)]);
            zarray["chunks"] = new JsonArray([.. newChunks.Select(x => (JsonNode)x)]);
            var dtype = zarray["dtype"]!.GetValue<string>();
            if (zarray["fill_value"] is null && (dtype.Contains('f') || dtype.Contains('c'))) zarray["fill_value"] = "NaN";
            output.SetText(name + "/.zarray", Compact(zarray));
            var attrsText = firstHolder.Set.TryGet(name + "/.zattrs", out var za) ? za.InlineText : "{}";
            var attrs = JsonNode.Parse(attrsText)!.AsObject();
            attrs["_ARRAY_DIMENSIONS"] = new JsonArray([.. added.Concat(dims).Select(x => (JsonNode)x)]);
            output.SetText(name + "/.zattrs", Compact(attrs));

            var chunkRefs = new SortedDictionary<string, (KerchunkRef Ref, int Input)>(ChunkKeyComparer.Instance);
            foreach (var h in holders)
            {
                var prefixIdx = added.Select(a => IndexOf(coords[a], h.Values(a).Single(), a)).ToList();
                foreach (var key in h.ChunkKeys(name))
                {
                    var local = key[(name.Length + 1)..];
                    var parts = dims.Count == 0 ? [] : local.Split('.').Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
                    for (var d = 0; d < dims.Count; d++)
                        if (concatDims.Contains(dims[d])) parts[d] = IndexOf(coords[dims[d]], h.Values(dims[d])[(int)parts[d]], dims[d]);
                    var newKey = name + "/" + string.Join('.', prefixIdx.Concat(parts).Select(x => x.ToString(CultureInfo.InvariantCulture)));
                    var reference = h.Set[key];
                    if (chunkRefs.TryGetValue(newKey, out var existing) && !existing.Ref.Equals(reference))
                        throw new InvalidDataException($"inputs {existing.Input} and {h.Index} give different references for '{newKey}'");
                    chunkRefs[newKey] = (reference, h.Index);
                }
            }
            foreach (var (key, value) in chunkRefs) output.Set(key, value.Ref);
        }
        return output;
    }

    private static long IndexOf(List<double> values, double v, string dim)
    {
        var i = values.BinarySearch(v);
        return i >= 0 ? i : throw new InvalidDataException($"value {v} is not on the '{dim}' axis");
    }

    private static string Compact(JsonNode node) => CanonicalJson.SerializeToString(node, indented: false);

    private static byte[] EncodeValues(ZarrDataType t, List<double> values)
    {
        var bytes = new byte[values.Count * t.Size];
        for (var i = 0; i < values.Count; i++)
        {
            var span = bytes.AsSpan(i * t.Size, t.Size);
            if (t == ZarrDataType.Float64) BinaryPrimitives.WriteDoubleLittleEndian(span, values[i]);
            else if (t == ZarrDataType.Float32) BinaryPrimitives.WriteSingleLittleEndian(span, (float)values[i]);
            else if (t == ZarrDataType.Int64) BinaryPrimitives.WriteInt64LittleEndian(span, (long)values[i]);
            else if (t == ZarrDataType.Int32) BinaryPrimitives.WriteInt32LittleEndian(span, (int)values[i]);
            else throw new NotSupportedException($"concat coordinate of type {t}");
        }
        return bytes;
    }

    internal static double[] DecodeValues(ZarrDataType t, byte[] bytes, string what)
    {
        if (bytes.Length % t.Size != 0) throw new InvalidDataException($"{what}: {bytes.Length} bytes is not a whole number of {t}");
        var n = bytes.Length / t.Size;
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            var span = bytes.AsSpan(i * t.Size, t.Size);
            values[i] = t.V3Name switch
            {
                "float64" => BinaryPrimitives.ReadDoubleLittleEndian(span),
                "float32" => BinaryPrimitives.ReadSingleLittleEndian(span),
                "int64" => BinaryPrimitives.ReadInt64LittleEndian(span),
                "int32" => BinaryPrimitives.ReadInt32LittleEndian(span),
                "uint64" => BinaryPrimitives.ReadUInt64LittleEndian(span),
                "uint32" => BinaryPrimitives.ReadUInt32LittleEndian(span),
                _ => throw new NotSupportedException($"{what}: coordinates of type {t}"),
            };
        }
        return values;
    }

    /// <summary>One input set, with its arrays indexed.</summary>
    private sealed class Input
    {
        private readonly Dictionary<string, double[]> _values = new(StringComparer.Ordinal);

        public Input(ReferenceSet set, int index)
        {
            Set = set;
            Index = index;
            Arrays = [.. set.Keys.Where(k => k.EndsWith("/.zarray", StringComparison.Ordinal) && k.Count(c => c == '/') == 1).Select(k => k[..^"/.zarray".Length])];
        }

        public ReferenceSet Set { get; }
        public int Index { get; }
        public List<string> Arrays { get; }

        public JsonObject Zarray(string name)
        {
            try
            {
                return JsonNode.Parse(Set[name + "/.zarray"].InlineText)!.AsObject();
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new InvalidDataException($"input {Index}: '{name}/.zarray' is not JSON: {e.Message}", e);
            }
        }

        public List<string> Dimensions(string name)
        {
            if (!Set.TryGet(name + "/.zattrs", out var attrs)) return [];
            var node = JsonNode.Parse(attrs.InlineText)?["_ARRAY_DIMENSIONS"];
            return node is JsonArray a ? [.. a.Select(x => x!.GetValue<string>())] : [];
        }

        public IEnumerable<string> KeysOf(string name) => Set.Keys.Where(k => k.StartsWith(name + "/", StringComparison.Ordinal) && k.IndexOf('/', name.Length + 1) < 0);

        public IEnumerable<string> ChunkKeys(string name) => KeysOf(name).Where(k => k[name.Length + 1] != '.');

        public bool SameArray(Input other, string name)
        {
            var mine = KeysOf(name).ToList();
            var theirs = other.KeysOf(name).ToList();
            return mine.Count == theirs.Count && mine.All(k => other.Set.TryGet(k, out var r) && r.Equals(Set[k]));
        }

        public double[] Values(string name)
        {
            if (_values.TryGetValue(name, out var cached)) return cached;
            var zarray = Zarray(name);
            if (zarray["compressor"] is not null || zarray["filters"] is JsonArray { Count: > 0 })
                throw new NotSupportedException($"input {Index}: coordinate '{name}' is compressed or filtered; only raw inline coordinates can be concatenated");
            var dtype = ZarrDataType.FromV2(zarray["dtype"]!.GetValue<string>());
            var rank = zarray["shape"]!.AsArray().Count;
            if (rank > 1) throw new NotSupportedException($"input {Index}: coordinate '{name}' has rank {rank}; concat coordinates are 0-d or 1-d");
            var key = name + "/0";
            if (!Set.TryGet(key, out var r) || !r.IsInline)
                throw new InvalidDataException($"input {Index}: coordinate '{name}' has no inline chunk '{key}'");
            var values = DecodeValues(dtype, r.Inline!, $"input {Index} '{key}'");
            var n = rank == 0 ? 1 : zarray["shape"]![0]!.GetValue<long>();
            if (values.Length < n) throw new InvalidDataException($"input {Index}: '{key}' holds {values.Length} values, shape says {n}");
            return _values[name] = values[..(int)n];
        }
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    /// <summary>Orders chunk keys by their numeric indices, so "t/10.0" follows "t/9.0".</summary>
    private sealed class ChunkKeyComparer : IComparer<string>
    {
        public static readonly ChunkKeyComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = x!.Split('/', '.');
            var b = y!.Split('/', '.');
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = long.TryParse(a[i], out var la) && long.TryParse(b[i], out var lb) ? la.CompareTo(lb) : string.CompareOrdinal(a[i], b[i]);
                if (c != 0) return c;
            }
            return a.Length.CompareTo(b.Length);
        }
    }
}
