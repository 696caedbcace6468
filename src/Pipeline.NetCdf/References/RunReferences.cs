using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Kerchunk;

namespace Pipeline.NetCdf.References;

/// <summary>
/// The combined reference set of one model run along a concatenation dimension (<c>time</c>, <c>ocean_time</c>,
/// ...), as kerchunk's <c>MultiZarrToZarr</c> builds it, grown one file at a time in any order. Each file's
/// reference set (from <see cref="NetCdfReferences"/>) is kept under a key (its URL); <see cref="Build"/> orders
/// the files by their first coordinate value, concatenates the coordinate, shifts the chunk indices of every
/// variable that has the dimension and copies the others from the earliest file. Adding the same file twice
/// changes nothing; the result does not depend on the order files arrived in. Not thread-safe: one owner
/// (an actor) adds and builds.
/// </summary>
public sealed class RunReferences
{
    private readonly SortedDictionary<string, (ReferenceSet Set, byte[] Json, double[] Coordinate)> _files = new(StringComparer.Ordinal);

    public RunReferences(string concatDim)
    {
        ArgumentException.ThrowIfNullOrEmpty(concatDim);
        ConcatDim = concatDim;
    }

    public string ConcatDim { get; }

    public IReadOnlyCollection<string> Files => _files.Keys;

    /// <summary>
    /// Adds (or replaces) one file's references. Returns false when the same references were already there under
    /// the key. Throws <see cref="InvalidDataException"/> (and changes nothing) when the set has no usable
    /// coordinate for the concat dimension or its values overlap another file's.
    /// </summary>
    public bool Add(string key, ReferenceSet set)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var json = set.ToJson();
        if (_files.TryGetValue(key, out var existing) && existing.Json.AsSpan().SequenceEqual(json)) return false;
        var values = Coordinate(set, ConcatDim, key);
        if (values.Length == 0) throw new InvalidDataException($"{key}: the '{ConcatDim}' coordinate is empty");
        foreach (var (otherKey, other) in _files)
        {
            if (otherKey == key) continue;
            if (values.Any(v => Array.IndexOf(other.Coordinate, v) >= 0))
                throw new InvalidDataException($"{key}: its '{ConcatDim}' values overlap those of {otherKey} (e.g. {values.First(v => Array.IndexOf(other.Coordinate, v) >= 0).ToString(CultureInfo.InvariantCulture)})");
        }
        _files[key] = (set, json, values);
        return true;
    }

    public bool Remove(string key) => _files.Remove(key);

    /// <summary>The combined reference set (version 1) over every file added so far.</summary>
    public ReferenceSet Build()
    {
        if (_files.Count == 0) throw new InvalidOperationException("no file added yet");
        var files = _files.Select(p => (Key: p.Key, p.Value.Set, p.Value.Coordinate)).OrderBy(f => f.Coordinate[0]).ThenBy(f => f.Key, StringComparer.Ordinal).ToList();
        for (var i = 1; i < files.Count; i++)
            if (files[i].Coordinate[0] <= files[i - 1].Coordinate[^1])
                throw new InvalidDataException($"'{ConcatDim}' ranges of {files[i - 1].Key} and {files[i].Key} interleave");
        var offsets = new long[files.Count];
        for (var i = 1; i < files.Count; i++) offsets[i] = offsets[i - 1] + files[i - 1].Coordinate.Length;
        var total = offsets[^1] + files[^1].Coordinate.Length;

        var first = files[0].Set;
        var output = new ReferenceSet();
        foreach (var f in files)
            foreach (var (k, v) in f.Set.Templates)
            {
                if (output.Templates.TryGetValue(k, out var had) && had != v)
                    throw new InvalidDataException($"template '{k}' means '{had}' in one file and '{v}' in {f.Key}");
                output.Templates[k] = v;
            }
        output.Set(".zgroup", first.TryGet(".zgroup", out var g) ? g : KerchunkRef.Text("{\"zarr_format\":2}"));
        if (first.TryGet(".zattrs", out var ga)) output.Set(".zattrs", ga);

        // The concat coordinate: every file's values in order, one inline chunk.
        var coordZarray = Zarray(first, ConcatDim, files[0].Key);
        var units = Units(first, ConcatDim);
        foreach (var f in files.Skip(1))
            if (Units(f.Set, ConcatDim) != units)
                throw new InvalidDataException($"'{ConcatDim}' units differ: '{units}' in {files[0].Key}, '{Units(f.Set, ConcatDim)}' in {f.Key}");
        var dtype = coordZarray["dtype"]!.GetValue<string>();
        var all = files.SelectMany(f => f.Coordinate).ToArray();
        coordZarray["shape"] = new JsonArray(total);
        coordZarray["chunks"] = new JsonArray(Math.Max(1, total));
        output.SetText(ConcatDim + "/.zarray", NetCdfReferences.Json(coordZarray));
        output.Set(ConcatDim + "/.zattrs", first[ConcatDim + "/.zattrs"]);
        output.Set(ConcatDim + "/0", KerchunkRef.Bytes(Encode(dtype, all, ConcatDim)));

        var names = new List<string>();
        foreach (var f in files)
            foreach (var name in Arrays(f.Set))
                if (name != ConcatDim && !names.Contains(name)) names.Add(name);

        foreach (var name in names)
        {
            var holders = files.Select((f, i) => (f.Key, f.Set, Offset: offsets[i], Length: f.Coordinate.Length, Last: i == files.Count - 1)).Where(h => h.Set.Contains(name + "/.zarray")).ToList();
            var dims = Dimensions(holders[0].Set, name);
            var d = dims.IndexOf(ConcatDim);
            if (d < 0)
            {
                foreach (var key in KeysOf(holders[0].Set, name)) output.Set(key, holders[0].Set[key]);
                continue;
            }
            var zarray = Zarray(holders[0].Set, name, holders[0].Key);
            var chunk = zarray["chunks"]![d]!.GetValue<long>();
            var signature = Signature(zarray, d);
            foreach (var h in holders)
                if (Signature(Zarray(h.Set, name, h.Key), d) != signature)
                    throw new InvalidDataException($"'{name}' differs in dtype, codecs or chunking between {holders[0].Key} and {h.Key}");
            var straddler = holders.FirstOrDefault(h => Zarray(h.Set, name, h.Key)["chunks"]![d]!.GetValue<long>() != chunk || h.Offset % chunk != 0 || !h.Last && h.Length % chunk != 0);
            if (straddler.Key is not null)
            {
                // Small inline arrays (1-D time-like variables) are concatenated; chunked file data cannot be re-cut.
                if (holders.Count == files.Count && holders.All(h => IsInlineWhole(h.Set, name, h.Key)))
                {
                    ConcatenateInline(output, name, d, zarray, holders.Select(h => h.Set).ToList(), total);
                    continue;
                }
                throw new InvalidDataException($"'{name}' has {chunk} '{ConcatDim}' steps per chunk; {straddler.Key} holds {straddler.Length} steps from index {straddler.Offset}: chunks would straddle files");
            }
            zarray["shape"]![d] = total;
            output.SetText(name + "/.zarray", NetCdfReferences.Json(zarray));
            output.Set(name + "/.zattrs", holders[0].Set[name + "/.zattrs"]);
            foreach (var h in holders)
            {
                foreach (var key in KeysOf(h.Set, name))
                {
                    var local = key[(name.Length + 1)..];
                    if (local.StartsWith('.')) continue;
                    var parts = local.Split('.').Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
                    parts[d] += h.Offset / chunk;
                    output.Set(name + "/" + string.Join('.', parts.Select(p => p.ToString(CultureInfo.InvariantCulture))), h.Set[key]);
                }
            }
        }
        return output;
    }

    /// <summary>The state (every file's references) as JSON, to persist between files.</summary>
    public byte[] ToJson()
    {
        var files = new JsonObject();
        foreach (var (key, f) in _files) files[key] = JsonNode.Parse(f.Json);
        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["concat_dim"] = ConcatDim, ["files"] = files });
    }

    public static RunReferences FromJson(ReadOnlySpan<byte> json)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(json.ToArray()) ?? throw new InvalidDataException("run references: null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"run references are not JSON: {e.Message}", e);
        }
        var run = new RunReferences(root["concat_dim"]?.GetValue<string>() ?? throw new InvalidDataException("run references: no 'concat_dim'"));
        foreach (var (key, node) in root["files"]?.AsObject() ?? throw new InvalidDataException("run references: no 'files'"))
            run.Add(key, ReferenceSet.Parse(JsonSerializer.SerializeToUtf8Bytes(node), key));
        return run;
    }

    private static string Signature(JsonObject zarray, int d)
    {
        var copy = (JsonObject)zarray.DeepClone();
        copy["shape"]![d] = 0;
        copy["chunks"]![d] = 0;
        return NetCdfReferences.Json(copy);
    }

    /// <summary>Uncompressed, one chunk holding the whole array, inline.</summary>
    private static bool IsInlineWhole(ReferenceSet set, string name, string where)
    {
        var z = Zarray(set, name, where);
        if (z["compressor"] is not null || z["filters"] is JsonArray { Count: > 0 }) return false;
        var shape = z["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
        var chunks = z["chunks"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
        if (!shape.SequenceEqual(chunks)) return false;
        var key = name + "/" + NetCdfReferences.ChunkKey(new long[shape.Length]);
        return shape.Any(x => x == 0) || set.TryGet(key, out var r) && r.IsInline;
    }

    private static void ConcatenateInline(ReferenceSet output, string name, int d, JsonObject zarray, List<ReferenceSet> sets, long total)
    {
        var dtype = zarray["dtype"]!.GetValue<string>();
        var itemSize = int.Parse(dtype[2..], CultureInfo.InvariantCulture);
        var shape = zarray["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
        var outer = shape.Take(d).Aggregate(1L, (a, b) => a * b);
        var inner = shape.Skip(d + 1).Aggregate((long)itemSize, (a, b) => a * b);
        var key = name + "/" + NetCdfReferences.ChunkKey(new long[shape.Length]);
        var parts = sets.Select(s => s.TryGet(key, out var r) ? r.Inline! : []).ToList();
        var lengths = sets.Select(s => Zarray(s, name, name)["shape"]![d]!.GetValue<long>()).ToList();
        var data = new byte[outer * total * inner];
        var at = 0L;
        for (long o = 0; o < outer; o++)
            for (var i = 0; i < parts.Count; i++)
            {
                var n = lengths[i] * inner;
                if (parts[i].Length < (o + 1) * n) throw new InvalidDataException($"'{key}' holds {parts[i].Length} bytes, its shape needs {outer * n}");
                Array.Copy(parts[i], o * n, data, at, n);
                at += n;
            }
        shape[d] = total;
        zarray["shape"] = new JsonArray([.. shape.Select(x => (JsonNode)x)]);
        zarray["chunks"] = new JsonArray([.. shape.Select(x => (JsonNode)Math.Max(1, x))]);
        output.SetText(name + "/.zarray", NetCdfReferences.Json(zarray));
        output.Set(name + "/.zattrs", sets[0][name + "/.zattrs"]);
        if (data.Length > 0) output.Set(key, KerchunkRef.Bytes(data));
    }

    private static IEnumerable<string> Arrays(ReferenceSet set) =>
        set.Keys.Where(k => k.EndsWith("/.zarray", StringComparison.Ordinal) && k.Count(c => c == '/') == 1).Select(k => k[..^"/.zarray".Length]);

    private static IEnumerable<string> KeysOf(ReferenceSet set, string name) =>
        set.Keys.Where(k => k.StartsWith(name + "/", StringComparison.Ordinal) && k.IndexOf('/', name.Length + 1) < 0);

    private static JsonObject Zarray(ReferenceSet set, string name, string where)
    {
        if (!set.TryGet(name + "/.zarray", out var r)) throw new InvalidDataException($"{where}: no '{name}' array");
        try
        {
            return JsonNode.Parse(r.InlineText)!.AsObject();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{where}: '{name}/.zarray' is not a JSON object: {e.Message}", e);
        }
    }

    private static List<string> Dimensions(ReferenceSet set, string name)
    {
        if (!set.TryGet(name + "/.zattrs", out var attrs)) return [];
        return JsonNode.Parse(attrs.InlineText)?["_ARRAY_DIMENSIONS"] is JsonArray a ? [.. a.Select(x => x!.GetValue<string>())] : [];
    }

    private static string? Units(ReferenceSet set, string name) =>
        set.TryGet(name + "/.zattrs", out var a) ? JsonNode.Parse(a.InlineText)?["units"]?.ToJsonString() : null;

    /// <summary>The values of a 1-D coordinate stored inline and uncompressed (as <see cref="NetCdfReferences"/> writes coordinates).</summary>
    internal static double[] Coordinate(ReferenceSet set, string dim, string where)
    {
        var zarray = Zarray(set, dim, where);
        if (zarray["compressor"] is not null || zarray["filters"] is JsonArray { Count: > 0 })
            throw new InvalidDataException($"{where}: coordinate '{dim}' is compressed; combining needs it inline and raw");
        var shape = zarray["shape"]!.AsArray();
        if (shape.Count != 1) throw new InvalidDataException($"{where}: coordinate '{dim}' has rank {shape.Count}, not 1");
        var n = shape[0]!.GetValue<long>();
        if (n == 0) return [];
        if (!set.TryGet(dim + "/0", out var chunk) || !chunk.IsInline)
            throw new InvalidDataException($"{where}: coordinate '{dim}' is not inline (chunk '{dim}/0')");
        var values = Decode(zarray["dtype"]!.GetValue<string>(), chunk.Inline!, where + " " + dim);
        if (values.Length < n) throw new InvalidDataException($"{where}: '{dim}/0' holds {values.Length} values, the shape says {n}");
        return values[..(int)n];
    }

    private static double[] Decode(string dtype, byte[] b, string what)
    {
        var big = dtype[0] == '>';
        var code = dtype[1..];
        var size = int.Parse(code[1..], CultureInfo.InvariantCulture);
        var n = b.Length / size;
        var v = new double[n];
        for (var i = 0; i < n; i++)
        {
            var s = b.AsSpan(i * size, size);
            v[i] = code switch
            {
                "f8" => big ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s),
                "f4" => big ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s),
                "i8" => big ? BinaryPrimitives.ReadInt64BigEndian(s) : BinaryPrimitives.ReadInt64LittleEndian(s),
                "i4" => big ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s),
                "i2" => big ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s),
                "u4" => big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
                "u2" => big ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
                _ => throw new InvalidDataException($"{what}: coordinate dtype '{dtype}' cannot be concatenated"),
            };
        }
        return v;
    }

    private static byte[] Encode(string dtype, double[] values, string what)
    {
        var big = dtype[0] == '>';
        var code = dtype[1..];
        var size = int.Parse(code[1..], CultureInfo.InvariantCulture);
        var b = new byte[values.Length * size];
        for (var i = 0; i < values.Length; i++)
        {
            var s = b.AsSpan(i * size, size);
            switch (code)
            {
                case "f8": if (big) BinaryPrimitives.WriteDoubleBigEndian(s, values[i]); else BinaryPrimitives.WriteDoubleLittleEndian(s, values[i]); break;
                case "f4": if (big) BinaryPrimitives.WriteSingleBigEndian(s, (float)values[i]); else BinaryPrimitives.WriteSingleLittleEndian(s, (float)values[i]); break;
                case "i8": if (big) BinaryPrimitives.WriteInt64BigEndian(s, (long)values[i]); else BinaryPrimitives.WriteInt64LittleEndian(s, (long)values[i]); break;
                case "i4": if (big) BinaryPrimitives.WriteInt32BigEndian(s, (int)values[i]); else BinaryPrimitives.WriteInt32LittleEndian(s, (int)values[i]); break;
                case "i2": if (big) BinaryPrimitives.WriteInt16BigEndian(s, (short)values[i]); else BinaryPrimitives.WriteInt16LittleEndian(s, (short)values[i]); break;
                case "u4": if (big) BinaryPrimitives.WriteUInt32BigEndian(s, (uint)values[i]); else BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)values[i]); break;
                case "u2": if (big) BinaryPrimitives.WriteUInt16BigEndian(s, (ushort)values[i]); else BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)values[i]); break;
                default: throw new InvalidDataException($"{what}: coordinate dtype '{dtype}' cannot be concatenated");
            }
        }
        return b;
    }
}
