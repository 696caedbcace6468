using System.Security.Cryptography;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Fetch;

namespace Pipeline.Streams.Tests.Fetch;

/// <summary>Test data and options for the fetch specs: GRIB-shaped bytes, announcements, fast retry options.</summary>
public static class FetchFixtures
{
    /// <summary>Bytes that pass the GRIB sniff: 'GRIB' ... '7777', deterministic from the seed.</summary>
    public static byte[] Grib(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        "GRIB"u8.CopyTo(bytes);
        "7777"u8.CopyTo(bytes.AsSpan(length - 4));
        return bytes;
    }

    /// <summary>Options for tests: loopback allowed, millisecond backoffs, short timeouts, no in-memory results unless asked.</summary>
    public static FetchOptions Options(params string[] hosts) => new()
    {
        AllowedHosts = hosts.Length == 0 ? ["127.0.0.1"] : hosts,
        NotFoundDeadline = TimeSpan.FromSeconds(20),
        NotFoundInitialDelay = TimeSpan.FromMilliseconds(20),
        NotFoundMaxDelay = TimeSpan.FromMilliseconds(100),
        TransientInitialDelay = TimeSpan.FromMilliseconds(10),
        TransientMaxDelay = TimeSpan.FromMilliseconds(50),
        MaxTransientRetries = 4,
        MaxCorruptRetries = 1,
        ResponseTimeout = TimeSpan.FromSeconds(10),
        ReadTimeout = TimeSpan.FromSeconds(10),
        InMemoryThreshold = 0,
        Limits = new HostLimits(RequestsPerSecond: 1000, MaxConnections: 16, Burst: 1000),
    };

    public static FetchSettings Settings(string cache, FetchOptions options, params (string Name, FetchOptions Options)[] datasets) => new()
    {
        CacheDirectory = cache,
        Defaults = options,
        Datasets = datasets.ToDictionary(d => d.Name, d => d.Options),
    };

    public static FetchRequest Request(Uri location, byte[]? content = null, string dataset = "test", string? method = IntegrityMethods.Sha256,
        bool hex = false, string? match = null, string? relPath = null)
    {
        Integrity? integrity = null;
        if (content is not null && method is not null)
        {
            var digest = method switch
            {
                IntegrityMethods.Md5 => MD5.HashData(content),
                IntegrityMethods.Sha512 => SHA512.HashData(content),
                _ => SHA256.HashData(content),
            };
            integrity = new Integrity(method, hex ? Convert.ToHexStringLower(digest) : Convert.ToBase64String(digest));
        }
        var a = new Announcement("test", AnnouncementFormats.Manual, location.AbsolutePath, location,
            relPath ?? location.AbsolutePath.TrimStart('/'), null, match is null ? content?.Length : null, integrity,
            DateTimeOffset.UtcNow, "{}");
        return new FetchRequest(a, dataset, match);
    }

    public static string Sha256Hex(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>A fresh cache directory, removed by the caller's <c>using</c>.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fetch-test-" + Guid.NewGuid().ToString("N"));

        public TempDir() => Directory.CreateDirectory(Path);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
