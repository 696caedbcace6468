using System.Security.Cryptography;
using System.Text.Json;

namespace Pipeline.Host.Tests;

/// <summary>Announcements as a data centre's feed sends them, for specs that inject them into a node.</summary>
internal static class Feeds
{
    /// <summary>A Sarracenia v03 post of <paramref name="relPath"/> under <paramref name="baseUrl"/>, published now, with its sha512 identity and size.</summary>
    public static string V03(Uri baseUrl, string relPath, byte[] bytes) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["pubTime"] = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss.fff"),
        ["baseUrl"] = baseUrl.AbsoluteUri.TrimEnd('/'),
        ["relPath"] = "/" + relPath,
        ["identity"] = new Dictionary<string, string> { ["method"] = "sha512", ["value"] = Convert.ToBase64String(SHA512.HashData(bytes)) },
        ["size"] = bytes.Length,
    });
}
