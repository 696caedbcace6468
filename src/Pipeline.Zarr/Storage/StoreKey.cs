using System.Text;

namespace Pipeline.Zarr.Storage;

/// <summary>
/// Key rules shared by every store. A key comes from outside (a broker's relPath, a file name): it must never
/// address anything outside the store's root or prefix. Accepted: non-empty '/'-separated segments of printable
/// characters. Rejected: absolute paths, '.' and '..' segments, empty segments (leading, trailing or doubled '/'),
/// backslashes, control characters, ':' in the first segment (drive letters, URL schemes), over-long keys.
/// </summary>
public static class StoreKey
{
    /// <summary>S3's own limit on a key, in UTF-8 bytes.</summary>
    public const int MaxUtf8Bytes = 1024;

    /// <summary>Returns the key unchanged when it is valid; throws <see cref="InvalidStoreKeyException"/> naming it and the rule otherwise.</summary>
    public static string Validate(string? key)
    {
        var problem = Check(key, allowPrefix: false);
        return problem is null ? key! : throw new InvalidStoreKeyException(key, problem);
    }

    /// <summary>A listing prefix: "" (everything) or a key, optionally ending in '/'.</summary>
    public static string ValidatePrefix(string? prefix)
    {
        if (prefix is null) throw new InvalidStoreKeyException(prefix, "a prefix must not be null (use \"\" for all)");
        if (prefix.Length == 0) return prefix;
        var problem = Check(prefix, allowPrefix: true);
        return problem is null ? prefix : throw new InvalidStoreKeyException(prefix, problem);
    }

    public static bool IsValid(string? key) => Check(key, allowPrefix: false) is null;

    /// <summary>Joins segments with '/', validating the result.</summary>
    public static string Join(params string[] parts) =>
        Validate(string.Join('/', parts.Where(p => p.Length > 0)));

    private static string? Check(string? key, bool allowPrefix)
    {
        if (key is null) return "a key must not be null";
        if (key.Length == 0) return "a key must not be empty";
        if (Encoding.UTF8.GetByteCount(key) > MaxUtf8Bytes) return $"a key must be at most {MaxUtf8Bytes} UTF-8 bytes";
        if (key[0] == '/') return "absolute paths are not allowed";
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c == '\\') return "backslashes are not allowed";
            if (char.IsControl(c)) return $"control character U+{(int)c:X4} is not allowed";
            if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return "unpaired surrogates are not allowed";
        }
        var body = allowPrefix && key.EndsWith('/') ? key[..^1] : key;
        var segments = body.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            if (s.Length == 0) return "empty path segments ('//', leading or trailing '/') are not allowed";
            if (s == "..") return "'..' segments are not allowed";
            if (s == ".") return "'.' segments are not allowed";
            if (i == 0 && s.Contains(':')) return "':' in the first segment (drive letter or URL scheme) is not allowed";
        }
        return null;
    }
}

/// <summary>A key that could escape the store or is malformed; the message names the key and the broken rule.</summary>
public sealed class InvalidStoreKeyException(string? key, string reason)
    : ArgumentException($"invalid object key {Quote(key)}: {reason}", "key")
{
    public string? Key { get; } = key;
    public string Reason { get; } = reason;

    private static string Quote(string? key)
    {
        if (key is null) return "(null)";
        var sb = new StringBuilder("'");
        foreach (var c in key) sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        return sb.Append('\'').ToString();
    }
}
