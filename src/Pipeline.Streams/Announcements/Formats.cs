using System.Globalization;
using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>Small shared readers for the announcement formats: times, checksums, JSON fields.</summary>
internal static class Formats
{
    private static readonly string[] CompactTimes =
    [
        "yyyyMMdd'T'HHmmss", "yyyyMMdd'T'HHmmss.FFFFFFF", "yyyyMMddHHmmss", "yyyyMMddHHmmss.FFFFFFF",
    ];

    /// <summary>
    /// Sarracenia times: compact <c>20251106T123456.789</c> (v03), <c>20251106123456.789</c> (v02), or ISO 8601;
    /// always UTC. Fractions longer than 7 digits are cut.
    /// </summary>
    public static DateTimeOffset ParseSarraceniaTime(string text, string field)
    {
        var t = text.Trim();
        var dot = t.IndexOf('.');
        if (dot >= 0 && t.Length - dot - 1 > 7 && !t.Contains('-')) t = t[..(dot + 8)];
        if (DateTimeOffset.TryParseExact(t, CompactTimes, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var compact))
            return compact;
        return ParseIsoTime(text, field);
    }

    public static DateTimeOffset ParseIsoTime(string text, string field)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var iso))
            return iso;
        throw new MessageFormatException($"'{field}' is not a time: '{Clip(text)}'");
    }

    /// <summary>Checksums in hex become base64 for the methods whose length we know; others pass through.</summary>
    public static Integrity NormalizeIntegrity(string method, string value, string field)
    {
        var m = method.Trim().ToLowerInvariant();
        var bytes = m switch
        {
            IntegrityMethods.Md5 => 16,
            IntegrityMethods.Sha256 => 32,
            "sha384" => 48,
            IntegrityMethods.Sha512 => 64,
            _ => 0,
        };
        if (bytes == 0) return new Integrity(m, value);
        if (value.Length == bytes * 2 && IsHex(value)) return new Integrity(m, Convert.ToBase64String(Convert.FromHexString(value)));
        var buffer = new byte[bytes + 3];
        if (!Convert.TryFromBase64String(value, buffer, out var written) || written != bytes)
            throw new MessageFormatException($"'{field}' for {m} is neither {bytes}-byte base64 nor hex: '{Clip(value)}'");
        return new Integrity(m, value);
    }

    public static bool IsHex(string s)
    {
        foreach (var c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }

    public static JsonDocument ParseJson(string body, string format)
    {
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new MessageFormatException($"body is not JSON ({e.Message})");
        }
        catch (ArgumentException e)
        {
            throw new MessageFormatException($"{format} body is unreadable ({e.Message})");
        }
    }

    public static JsonElement RequireObject(JsonElement parent, string name, string where)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var v))
            throw new MessageFormatException($"'{where}{name}' is missing");
        if (v.ValueKind != JsonValueKind.Object)
            throw new MessageFormatException($"'{where}{name}' must be an object, not {v.ValueKind}");
        return v;
    }

    public static string RequireString(JsonElement parent, string name, string where = "")
    {
        if (!parent.TryGetProperty(name, out var v))
            throw new MessageFormatException($"'{where}{name}' is missing");
        if (v.ValueKind != JsonValueKind.String)
            throw new MessageFormatException($"'{where}{name}' must be a string, not {v.ValueKind}");
        var s = v.GetString()!;
        if (string.IsNullOrWhiteSpace(s)) throw new MessageFormatException($"'{where}{name}' is empty");
        return s;
    }

    public static string? OptionalString(JsonElement parent, string name, string where = "")
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String)
            throw new MessageFormatException($"'{where}{name}' must be a string, not {v.ValueKind}");
        return v.GetString();
    }

    /// <summary>A size: a JSON number, or a number in a string (some producers quote it).</summary>
    public static long? OptionalSize(JsonElement parent, string name, string where = "")
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        long size;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out size)) { }
        else if (v.ValueKind == JsonValueKind.String &&
                 long.TryParse(v.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out size)) { }
        else throw new MessageFormatException($"'{where}{name}' is not a whole number: {Clip(v.GetRawText())}");
        if (size < 0) throw new MessageFormatException($"'{where}{name}' is negative: {size}");
        return size;
    }

    public static Uri RequireAbsoluteUri(string text, string field)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) ||
            uri.Scheme is not ("http" or "https" or "s3" or "ftp" or "sftp" or "file"))
            throw new MessageFormatException($"'{field}' is not an absolute http/https/s3/ftp/sftp URL: '{Clip(text)}'");
        return uri;
    }

    /// <summary>Joins a base URL and a relative path with exactly one slash.</summary>
    public static Uri Join(string baseUrl, string relPath, string field)
    {
        var b = baseUrl.TrimEnd('/');
        var r = relPath.TrimStart('/');
        return RequireAbsoluteUri(b + "/" + r, field);
    }

    public static string Clip(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
