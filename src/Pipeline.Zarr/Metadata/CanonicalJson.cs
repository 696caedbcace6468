using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Zarr.Metadata;

/// <summary>
/// Deterministic JSON for metadata documents: object keys in ordinal order, doubles in shortest round-trip form
/// (integral doubles keep a trailing <c>.0</c> so Python reads them back as floats), NaN and infinities as the
/// strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (the Zarr fill-value convention), no HTML escaping.
/// The same node always gives the same bytes.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(JsonNode? node, bool indented = true, bool sortKeys = true)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact)) Write(writer, node, sortKeys);
        return buffer.WrittenSpan.ToArray();
    }

    public static string SerializeToString(JsonNode? node, bool indented = false, bool sortKeys = true) =>
        System.Text.Encoding.UTF8.GetString(Serialize(node, indented, sortKeys));

    public static void Write(Utf8JsonWriter writer, JsonNode? node, bool sortKeys = true)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject o:
                writer.WriteStartObject();
                IEnumerable<KeyValuePair<string, JsonNode?>> members = sortKeys ? o.OrderBy(p => p.Key, StringComparer.Ordinal) : o;
                foreach (var (k, v) in members)
                {
                    writer.WritePropertyName(k);
                    Write(writer, v, sortKeys);
                }
                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (var v in a) Write(writer, v, sortKeys);
                writer.WriteEndArray();
                break;
            case JsonValue v:
                WriteValue(writer, v);
                break;
        }
    }

    /// <summary>Writes one double the canonical way.</summary>
    public static void WriteDouble(Utf8JsonWriter writer, double d)
    {
        if (double.IsNaN(d)) writer.WriteStringValue("NaN");
        else if (double.IsPositiveInfinity(d)) writer.WriteStringValue("Infinity");
        else if (double.IsNegativeInfinity(d)) writer.WriteStringValue("-Infinity");
        else writer.WriteRawValue(FormatDouble(d), skipInputValidation: true);
    }

    public static string FormatDouble(double d)
    {
        var s = d.ToString("R", CultureInfo.InvariantCulture);
        if (s.Contains('E'))
        {
            // Python style exponent: 1e+16, 3.4028234663852886e+38.
            var e = s.IndexOf('E');
            var mantissa = s[..e];
            var exponent = int.Parse(s[(e + 1)..], CultureInfo.InvariantCulture);
            return mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }
        return s.Contains('.') ? s : s + ".0";
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonValue v)
    {
        // A parsed document's values wrap a JsonElement: keep its number text as it was.
        if (v.TryGetValue<JsonElement>(out var el))
        {
            if (el.ValueKind == JsonValueKind.Number) writer.WriteRawValue(el.GetRawText(), skipInputValidation: true);
            else el.WriteTo(writer);
            return;
        }
        if (v.TryGetValue<int>(out var i)) { writer.WriteNumberValue(i); return; }
        if (v.TryGetValue<long>(out var l)) { writer.WriteNumberValue(l); return; }
        if (v.TryGetValue<ulong>(out var ul)) { writer.WriteNumberValue(ul); return; }
        if (v.TryGetValue<uint>(out var ui)) { writer.WriteNumberValue(ui); return; }
        if (v.TryGetValue<short>(out var sh)) { writer.WriteNumberValue(sh); return; }
        if (v.TryGetValue<byte>(out var by)) { writer.WriteNumberValue(by); return; }
        if (v.TryGetValue<double>(out var d)) { WriteDouble(writer, d); return; }
        if (v.TryGetValue<float>(out var f)) { WriteDouble(writer, f); return; }
        if (v.TryGetValue<string>(out var s)) { writer.WriteStringValue(s); return; }
        if (v.TryGetValue<bool>(out var b)) { writer.WriteBooleanValue(b); return; }
        v.WriteTo(writer);
    }
}
