using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Pipeline.Zarr.Kerchunk;

/// <summary>
/// One kerchunk reference: inline data (text such as a metadata document, or raw bytes), a byte range of a file,
/// or a whole file. In JSON: a string (raw bytes that are not UTF-8 as <c>"base64:..."</c>), <c>[url, offset, length]</c>
/// or <c>[url]</c>.
/// </summary>
public sealed record KerchunkRef
{
    private KerchunkRef(byte[]? inline, string? url, long? offset, long? length)
    {
        Inline = inline;
        Url = url;
        Offset = offset;
        Length = length;
    }

    /// <summary>Inline bytes (metadata text as UTF-8, or binary chunk data), or null for a file reference.</summary>
    public byte[]? Inline { get; }

    public string? Url { get; }
    public long? Offset { get; }
    public long? Length { get; }

    public bool IsInline => Inline is not null;

    public static KerchunkRef Text(string text) => new(Encoding.UTF8.GetBytes(text), null, null, null);

    public static KerchunkRef Bytes(byte[] data) => new(data, null, null, null);

    public static KerchunkRef Range(string url, long offset, long length)
    {
        ArgumentException.ThrowIfNullOrEmpty(url);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new(null, url, offset, length);
    }

    public static KerchunkRef File(string url) => new(null, url, null, null);

    public string InlineText => Inline is null ? throw new InvalidOperationException("not an inline reference") : Encoding.UTF8.GetString(Inline);

    public bool Equals(KerchunkRef? other) =>
        other is not null && Url == other.Url && Offset == other.Offset && Length == other.Length &&
        (Inline is null ? other.Inline is null : other.Inline is not null && Inline.AsSpan().SequenceEqual(other.Inline));

    public override int GetHashCode() => HashCode.Combine(Url, Offset, Length, Inline?.Length);
}

/// <summary>
/// A kerchunk reference set, version 1: <c>{"version": 1, "refs": {key: ref}, "templates": {name: url}}</c>, the shape
/// <c>kerchunk.grib2.scan_grib</c> and <c>MultiZarrToZarr</c> produce and fsspec's <c>reference://</c> reads.
/// Keys keep their insertion order (which our writers make deterministic).
/// </summary>
public sealed class ReferenceSet
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly List<string> _order = [];
    private readonly Dictionary<string, KerchunkRef> _refs = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Keys => _order;

    public IReadOnlyDictionary<string, KerchunkRef> Refs => _refs;

    /// <summary>URL templates: <c>{{name}}</c> in a reference URL stands for the value.</summary>
    public SortedDictionary<string, string> Templates { get; } = new(StringComparer.Ordinal);

    public int Count => _order.Count;

    public KerchunkRef this[string key] => _refs.TryGetValue(key, out var r) ? r : throw new KeyNotFoundException($"no reference '{key}'");

    public bool TryGet(string key, out KerchunkRef reference) => _refs.TryGetValue(key, out reference!);

    public bool Contains(string key) => _refs.ContainsKey(key);

    /// <summary>Adds or replaces a reference (a replaced key keeps its position).</summary>
    public ReferenceSet Set(string key, KerchunkRef reference)
    {
        Storage.StoreKey.Validate(key);
        if (!_refs.ContainsKey(key)) _order.Add(key);
        _refs[key] = reference;
        return this;
    }

    public ReferenceSet SetText(string key, string text) => Set(key, KerchunkRef.Text(text));

    /// <summary>The URL with templates expanded.</summary>
    public string ResolveUrl(string url)
    {
        foreach (var (name, value) in Templates) url = url.Replace("{{" + name + "}}", value, StringComparison.Ordinal);
        return url;
    }

    /// <summary>JSON in kerchunk's layout (<c>", "</c> and <c>": "</c> separators, as Python's json.dumps writes).</summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("version", 1);
            w.WriteStartObject("refs");
            foreach (var key in _order)
            {
                var r = _refs[key];
                w.WritePropertyName(key);
                if (r.Inline is { } bytes)
                {
                    w.WriteStringValue(EncodeInline(bytes));
                }
                else
                {
                    w.WriteStartArray();
                    w.WriteStringValue(r.Url);
                    if (r.Offset is { } o)
                    {
                        w.WriteNumberValue(o);
                        w.WriteNumberValue(r.Length!.Value);
                    }
                    w.WriteEndArray();
                }
            }
            w.WriteEndObject();
            if (Templates.Count > 0)
            {
                w.WriteStartObject("templates");
                foreach (var (k, v) in Templates) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return PythonSeparators(buffer.WrittenSpan);
    }

    /// <summary>Parses a version 1 reference set (or a bare version 0 key/value object).</summary>
    public static ReferenceSet Parse(ReadOnlySpan<byte> json, string? source = null)
    {
        var where = source is null ? "reference set" : $"reference set '{source}'";
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where} is not JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: the top level must be an object");
            var set = new ReferenceSet();
            JsonElement refs;
            if (root.TryGetProperty("version", out var version))
            {
                if (version.ValueKind != JsonValueKind.Number || version.GetInt32() != 1)
                    throw new InvalidDataException($"{where}: unsupported version {version.GetRawText()} (only 1)");
                if (!root.TryGetProperty("refs", out refs) || refs.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{where}: version 1 needs a 'refs' object");
                if (root.TryGetProperty("templates", out var templates))
                {
                    foreach (var t in templates.EnumerateObject())
                        set.Templates[t.Name] = t.Value.GetString() ?? throw new InvalidDataException($"{where}: template '{t.Name}' is not a string");
                }
                if (root.TryGetProperty("gen", out _))
                    throw new InvalidDataException($"{where}: 'gen' (generated keys) is not supported");
            }
            else
            {
                refs = root;
            }
            foreach (var p in refs.EnumerateObject())
            {
                if (!Storage.StoreKey.IsValid(p.Name)) throw new InvalidDataException($"{where}: invalid key '{p.Name}'");
                set.Set(p.Name, ParseRef(p.Value, where, p.Name));
            }
            return set;
        }
    }

    /// <summary>Inline bytes as kerchunk writes them: the UTF-8 text when the bytes are valid UTF-8, else <c>base64:</c>.</summary>
    public static string EncodeInline(byte[] bytes)
    {
        if (!bytes.AsSpan().StartsWith("base64:"u8))
        {
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
            }
        }
        return "base64:" + Convert.ToBase64String(bytes);
    }

    public static byte[] DecodeInline(string text) =>
        text.StartsWith("base64:", StringComparison.Ordinal) ? Convert.FromBase64String(text["base64:".Length..]) : Encoding.UTF8.GetBytes(text);

    private static KerchunkRef ParseRef(JsonElement value, string where, string key)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    return KerchunkRef.Bytes(DecodeInline(value.GetString()!));
                }
                catch (FormatException e)
                {
                    throw new InvalidDataException($"{where}: key '{key}' has bad base64: {e.Message}", e);
                }
            case JsonValueKind.Array:
                var n = value.GetArrayLength();
                if (n is 1 or 3 && value[0].ValueKind == JsonValueKind.String)
                {
                    var url = value[0].GetString()!;
                    if (n == 1) return KerchunkRef.File(url);
                    if (value[1].TryGetInt64(out var o) && value[2].TryGetInt64(out var l) && o >= 0 && l >= 0)
                        return KerchunkRef.Range(url, o, l);
                }
                throw new InvalidDataException($"{where}: key '{key}' must be [url] or [url, offset, length], not {value.GetRawText()}");
            case JsonValueKind.Object:
                // Version 0 writers sometimes store metadata objects directly.
                return KerchunkRef.Text(value.GetRawText());
            default:
                throw new InvalidDataException($"{where}: key '{key}' has a {value.ValueKind} value");
        }
    }

    // Utf8JsonWriter writes compact JSON; kerchunk's files come from Python's json.dumps: ", " and ": " between tokens.
    private static byte[] PythonSeparators(ReadOnlySpan<byte> compact)
    {
        var output = new ArrayBufferWriter<byte>(compact.Length + compact.Length / 8);
        var inString = false;
        for (var i = 0; i < compact.Length; i++)
        {
            var b = compact[i];
            var span = output.GetSpan(2);
            span[0] = b;
            var n = 1;
            if (inString)
            {
                if (b == (byte)'\\') { span[1] = compact[++i]; n = 2; }
                else if (b == (byte)'"') inString = false;
            }
            else if (b == (byte)'"') inString = true;
            else if (b is (byte)',' or (byte)':') { span[1] = (byte)' '; n = 2; }
            output.Advance(n);
        }
        return output.WrittenSpan.ToArray();
    }
}
