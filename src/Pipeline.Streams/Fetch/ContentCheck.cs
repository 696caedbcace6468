using System.Security.Cryptography;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Fetch;

/// <summary>The expected content kind of a file, from its name.</summary>
public enum ContentKind
{
    Unknown,
    Grib,
    NetCdfOrHdf5,
    Hdf5,
}

/// <summary>Checksums and content signatures: what a downloaded file must look like to be accepted.</summary>
public static class ContentCheck
{
    private static readonly byte[] Hdf5Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n'];

    /// <summary>Bytes kept from the start of a file for sniffing.</summary>
    public const int HeadLength = 16;

    /// <summary>The kind expected from a file name (extension, ignoring a compression suffix is not attempted).</summary>
    public static ContentKind KindOf(string pathOrUrl)
    {
        var name = pathOrUrl;
        var q = name.IndexOfAny(['?', '#']);
        if (q >= 0) name = name[..q];
        var ext = Path.GetExtension(name).ToLowerInvariant();
        return ext switch
        {
            ".grib2" or ".grb2" or ".grib" or ".grb" or ".gb2" => ContentKind.Grib,
            ".nc" or ".nc4" or ".netcdf" => ContentKind.NetCdfOrHdf5,
            ".h5" or ".hdf5" or ".he5" => ContentKind.Hdf5,
            _ => ContentKind.Unknown,
        };
    }

    /// <summary>
    /// Null when <paramref name="head"/> (the first bytes) and <paramref name="tail"/> (the last 4 bytes) fit
    /// <paramref name="kind"/>; otherwise why not. Markup (HTML/XML error pages) is refused for a binary kind; for an unknown kind only HTML is refused (CAP XML stays valid).
    /// </summary>
    public static string? Sniff(ContentKind kind, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long size)
    {
        if (kind == ContentKind.Unknown ? LooksLikeHtml(head) : LooksLikeMarkup(head))
            return $"content is markup (starts '{Printable(head)}'), not data: an error page served with a success status";
        switch (kind)
        {
            case ContentKind.Grib:
                if (size < 16 || !head.StartsWith("GRIB"u8))
                    return $"not GRIB: expected 'GRIB' at offset 0, found '{Printable(head[..Math.Min(4, head.Length)])}'";
                if (!tail.SequenceEqual("7777"u8))
                    return $"GRIB is truncated: expected '7777' at the end (offset {size - 4}), found '{Printable(tail)}'";
                return null;
            case ContentKind.Hdf5:
                return head.StartsWith(Hdf5Signature) ? null : $"not HDF5: signature missing at offset 0 ('{Printable(head[..Math.Min(8, head.Length)])}')";
            case ContentKind.NetCdfOrHdf5:
                if (head.StartsWith(Hdf5Signature)) return null;
                if (head.Length >= 4 && head.StartsWith("CDF"u8) && head[3] is 1 or 2 or 5) return null;
                return $"not NetCDF: expected 'CDF\\x01', 'CDF\\x02', 'CDF\\x05' or the HDF5 signature at offset 0, found '{Printable(head[..Math.Min(8, head.Length)])}'";
            default:
                return null;
        }
    }

    private static bool LooksLikeMarkup(ReadOnlySpan<byte> head)
    {
        var s = head;
        if (s.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) s = s[3..];
        while (s.Length > 0 && s[0] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') s = s[1..];
        if (s.Length < 2 || s[0] != '<') return false;
        var c = s[1] | 0x20;
        return c is 'h' or 'x' or 'b' or 't' or 'p' or 'd' || s[1] is (byte)'!' or (byte)'?';
    }

    private static bool LooksLikeHtml(ReadOnlySpan<byte> head)
    {
        var s = head;
        while (s.Length > 0 && s[0] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') s = s[1..];
        Span<byte> lower = stackalloc byte[Math.Min(s.Length, 9)];
        for (var i = 0; i < lower.Length; i++) lower[i] = (byte)(s[i] | 0x20);
        return lower.StartsWith("<!doctype"u8) || lower.StartsWith("<html"u8);
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[Math.Min(bytes.Length, 16)];
        for (var i = 0; i < chars.Length; i++) chars[i] = bytes[i] is >= 32 and < 127 ? (char)bytes[i] : '.';
        return new string(chars);
    }

    /// <summary>The hash algorithm for an announced method, or null when it cannot be verified here (arbitrary, cod, ...).</summary>
    public static HashAlgorithmName? AlgorithmOf(string method) => method.ToLowerInvariant() switch
    {
        IntegrityMethods.Md5 or "d" => HashAlgorithmName.MD5,
        IntegrityMethods.Sha256 => HashAlgorithmName.SHA256,
        IntegrityMethods.Sha512 or "s" => HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>
    /// Decodes an announced checksum given in hex or base64 to its bytes, checking the length the method implies.
    /// Throws <see cref="FormatException"/> naming the value when it is neither.
    /// </summary>
    public static byte[] DecodeDigest(HashAlgorithmName algorithm, string value)
    {
        var length = algorithm == HashAlgorithmName.MD5 ? 16 : algorithm == HashAlgorithmName.SHA256 ? 32 : 64;
        var v = value.Trim();
        if (v.Length == length * 2 && IsHex(v)) return Convert.FromHexString(v);
        var buffer = new byte[length + 3];
        if (Convert.TryFromBase64String(v, buffer, out var written) && written == length) return buffer[..length];
        throw new FormatException(
            $"announced {algorithm.Name} checksum '{Truncate(v)}' is neither {length * 2} hex digits nor base64 of {length} bytes");
    }

    private static bool IsHex(string s)
    {
        foreach (var c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
