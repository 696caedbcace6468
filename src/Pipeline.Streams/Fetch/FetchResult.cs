using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Fetch;

/// <summary>One file to fetch: the announcement, the dataset whose options apply, and optionally a GRIB2 subset.</summary>
/// <param name="Announcement">What was announced.</param>
/// <param name="Dataset">The dataset name that selects <see cref="FetchOptions"/>.</param>
/// <param name="GribMatch">
/// A wgrib2 <c>-match</c> style regular expression over the <c>.idx</c> inventory lines: only the matching messages are
/// fetched (ranged GETs), concatenated. Null fetches the whole file.
/// </param>
public sealed record FetchRequest(Announcement Announcement, string Dataset, string? GribMatch = null);

/// <summary>Why a fetch failed.</summary>
public enum FetchErrorClass
{
    /// <summary>404 (or 403 where configured) until the dataset's deadline passed.</summary>
    NotYetPublished,
    /// <summary>5xx, 429, timeouts, resets: retries exhausted.</summary>
    Transient,
    /// <summary>401, 410 and other 4xx: not retried.</summary>
    Permanent,
    /// <summary>Size, checksum or content signature did not match, after the allowed retries.</summary>
    Corrupt,
    /// <summary>Refused before any request: scheme, host not allowed, redirect to a host not allowed, link-local address.</summary>
    Refused,
    /// <summary>Larger than the dataset's MaxSize.</summary>
    TooLarge,
    /// <summary>The fetch was cancelled (shutdown).</summary>
    Cancelled,
}

/// <summary>The outcome of one <see cref="FetchRequest"/>: exactly one of cached file, in-memory buffer, or failure.</summary>
public abstract record FetchResult(FetchRequest Request, int Attempts)
{
    public Announcement Announcement => Request.Announcement;

    /// <summary>A verified file in the content-addressed cache. The path is final: it never changes content.</summary>
    public sealed record Cached(FetchRequest Request, int Attempts, string Path, long Size, string Sha256Hex)
        : FetchResult(Request, Attempts);

    /// <summary>A verified small file held in memory (never written to the cache).</summary>
    public sealed record InMemory(FetchRequest Request, int Attempts, ReadOnlyMemory<byte> Data, string Sha256Hex)
        : FetchResult(Request, Attempts)
    {
        public long Size => Data.Length;
    }

    /// <summary>The file could not be fetched; <paramref name="Reason"/> says what, where and why.</summary>
    public sealed record Failed(FetchRequest Request, int Attempts, FetchErrorClass Error, string Reason)
        : FetchResult(Request, Attempts);

    public bool IsSuccess => this is Cached or InMemory;
}
