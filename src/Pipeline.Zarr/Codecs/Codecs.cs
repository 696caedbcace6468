using System.IO.Compression;
using System.Text.Json.Nodes;
using ZstdSharp;

namespace Pipeline.Zarr.Codecs;

/// <summary>
/// A bytes-to-bytes codec with a numcodecs-compatible id and parameters (Zarr v2 <c>compressor</c>/<c>filters</c>)
/// and, where the Zarr v3 core spec has one, its v3 codec entry. Encoding is deterministic: the same input gives
/// the same bytes. Implementations are immutable and thread-safe.
/// </summary>
public interface IBytesCodec
{
    /// <summary>numcodecs id: <c>zstd</c>, <c>zlib</c>, <c>gzip</c>, <c>shuffle</c>.</summary>
    string Id { get; }

    byte[] Encode(ReadOnlySpan<byte> data);

    byte[] Decode(ReadOnlySpan<byte> data);

    /// <summary>The Zarr v2 / numcodecs config object, e.g. <c>{"id":"zstd","level":3}</c>.</summary>
    JsonObject V2Config();

    /// <summary>The Zarr v3 codec entry, or null when v3 core has no such codec.</summary>
    JsonObject? V3Config();
}

/// <summary>
/// Zstandard (numcodecs <c>zstd</c>, v3 <c>zstd</c>): compression with the system's libzstd when it loads (see
/// <see cref="NativeZstd"/>), else ZstdSharp; decompression with ZstdSharp.
/// </summary>
public sealed record ZstdCodec(int Level = 3) : IBytesCodec
{
    [ThreadStatic] private static Compressor? _compressor;
    [ThreadStatic] private static int _compressorLevel;

    public string Id => "zstd";

    public byte[] Encode(ReadOnlySpan<byte> data)
    {
        if (NativeZstd.TryCompress(data, Level) is { } native) return native;
        if (_compressor is null || _compressorLevel != Level)
        {
            _compressor?.Dispose();
            _compressor = new Compressor(Level);
            _compressorLevel = Level;
        }
        return _compressor.Wrap(data).ToArray();
    }

    public byte[] Decode(ReadOnlySpan<byte> data)
    {
        try
        {
            using var decompressor = new Decompressor();
            var size = Decompressor.GetDecompressedSize(data);
            if (size > int.MaxValue) throw new InvalidDataException($"zstd frame declares {size} bytes, more than a chunk can hold");
            return decompressor.Unwrap(data).ToArray();
        }
        catch (ZstdException e)
        {
            throw new InvalidDataException($"not a valid zstd frame ({data.Length} bytes): {e.Message}", e);
        }
    }

    public JsonObject V2Config() => new() { ["id"] = "zstd", ["level"] = Level };

    public JsonObject? V3Config() => new()
    {
        ["name"] = "zstd",
        ["configuration"] = new JsonObject { ["level"] = Level, ["checksum"] = false },
    };
}

/// <summary>The one way zlib and gzip codecs run their streams: whole chunks in, whole chunks out.</summary>
internal static class DeflateStreams
{
    public static byte[] Encode(ReadOnlySpan<byte> data, Func<Stream, Stream> compressor)
    {
        using var output = new MemoryStream(data.Length / 2 + 64);
        using (var z = compressor(output)) z.Write(data);
        return output.ToArray();
    }

    public static byte[] Decode(ReadOnlySpan<byte> data, Func<Stream, Stream> decompressor)
    {
        using var input = new MemoryStream(data.ToArray(), writable: false);
        using var z = decompressor(input);
        using var output = new MemoryStream();
        z.CopyTo(output);
        return output.ToArray();
    }
}

/// <summary>zlib stream (RFC 1950; numcodecs <c>zlib</c>). Zarr v3 core has no zlib codec: use gzip there.</summary>
public sealed record ZlibCodec(int Level = 5) : IBytesCodec
{
    public string Id => "zlib";

    public byte[] Encode(ReadOnlySpan<byte> data) =>
        DeflateStreams.Encode(data, o => new ZLibStream(o, new ZLibCompressionOptions { CompressionLevel = Level }, leaveOpen: true));

    public byte[] Decode(ReadOnlySpan<byte> data) => DeflateStreams.Decode(data, i => new ZLibStream(i, CompressionMode.Decompress));

    public JsonObject V2Config() => new() { ["id"] = "zlib", ["level"] = Level };

    public JsonObject? V3Config() => null;
}

/// <summary>gzip member (RFC 1952; numcodecs <c>gzip</c>, v3 <c>gzip</c>).</summary>
public sealed record GzipCodec(int Level = 5) : IBytesCodec
{
    public string Id => "gzip";

    public byte[] Encode(ReadOnlySpan<byte> data) =>
        DeflateStreams.Encode(data, o => new GZipStream(o, new ZLibCompressionOptions { CompressionLevel = Level }, leaveOpen: true));

    public byte[] Decode(ReadOnlySpan<byte> data) => DeflateStreams.Decode(data, i => new GZipStream(i, CompressionMode.Decompress));

    public JsonObject V2Config() => new() { ["id"] = "gzip", ["level"] = Level };

    public JsonObject? V3Config() => new() { ["name"] = "gzip", ["configuration"] = new JsonObject { ["level"] = Level } };
}

/// <summary>
/// numcodecs <c>shuffle</c> filter: byte <c>j</c> of element <c>i</c> goes to <c>j * count + i</c>, grouping the
/// bytes of equal significance, which helps the compressor on floats. Bytes past the last whole element are copied.
/// </summary>
public sealed record ShuffleFilter(int ElementSize) : IBytesCodec
{
    public string Id => "shuffle";

    public byte[] Encode(ReadOnlySpan<byte> data)
    {
        var output = GC.AllocateUninitializedArray<byte>(data.Length);
        Transpose(data, output, ElementSize, encode: true);
        return output;
    }

    /// <summary>Shuffles into <paramref name="output"/>, which must be as long as <paramref name="data"/>.</summary>
    public void Encode(ReadOnlySpan<byte> data, Span<byte> output)
    {
        if (output.Length != data.Length) throw new ArgumentException($"output holds {output.Length} bytes, the input {data.Length}", nameof(output));
        Transpose(data, output, ElementSize, encode: true);
    }

    public byte[] Decode(ReadOnlySpan<byte> data)
    {
        var output = GC.AllocateUninitializedArray<byte>(data.Length);
        Transpose(data, output, ElementSize, encode: false);
        return output;
    }

    // Encode: byte j of element i -> j * count + i; decode the inverse. Rows of 'count' bytes are written (or read)
    // one significance at a time; the loops are simple enough for the JIT to keep in registers.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Transpose(ReadOnlySpan<byte> data, Span<byte> output, int size, bool encode)
    {
        var count = data.Length / size;
        if (size <= 1 || count == 0)
        {
            data.CopyTo(output);
            return;
        }
        fixed (byte* src = data)
        fixed (byte* dst = output)
        {
            // Blocks of elements that fit in L1 (the 'size' output rows of a block stay hot), each row written
            // sequentially: several times faster than one strided pass per significance over the whole buffer.
            const int block = 2048;
            for (var start = 0; start < count; start += block)
            {
                var n = Math.Min(block, count - start);
                for (var j = 0; j < size; j++)
                {
                    if (encode)
                    {
                        var d = dst + (long)j * count + start;
                        var p = src + (long)start * size + j;
                        for (var i = 0; i < n; i++, p += size) d[i] = *p;
                    }
                    else
                    {
                        var q = src + (long)j * count + start;
                        var p = dst + (long)start * size + j;
                        for (var i = 0; i < n; i++, p += size) *p = q[i];
                    }
                }
            }
        }
        data[(count * size)..].CopyTo(output[(count * size)..]);
    }

    public JsonObject V2Config() => new() { ["id"] = "shuffle", ["elementsize"] = ElementSize };

    public JsonObject? V3Config() => null;
}

/// <summary>What turns a chunk's raw little-endian bytes into stored bytes: filters, then one compressor (or none).</summary>
public sealed record CodecPipeline(IReadOnlyList<IBytesCodec> Filters, IBytesCodec? Compressor)
{
    public static readonly CodecPipeline None = new([], null);

    public static CodecPipeline Zstd(int level = 3) => new([], new ZstdCodec(level));

    public byte[] Encode(ReadOnlySpan<byte> raw)
    {
        if (Filters.Count == 0 && Compressor is null) return raw.ToArray();
        if (Filters.Count == 0) return Compressor!.Encode(raw);
        if (Compressor is not null && Filters.Count == 1 && Filters[0] is ShuffleFilter shuffle)
        {
            // The common filter: shuffle into a pooled buffer (no fresh pages per chunk), compress from there.
            var buffer = FieldBuffers.Rent<byte>(raw.Length);
            try
            {
                shuffle.Encode(raw, buffer.AsSpan(0, raw.Length));
                return Compressor.Encode(buffer.AsSpan(0, raw.Length));
            }
            finally
            {
                FieldBuffers.Return(buffer);
            }
        }
        byte[]? current = null;
        foreach (var f in Filters) current = f.Encode(current ?? raw);
        return Compressor is null ? current! : Compressor.Encode(current ?? raw);
    }

    public byte[] Decode(ReadOnlySpan<byte> stored)
    {
        var current = Compressor is null ? stored.ToArray() : Compressor.Decode(stored);
        for (var i = Filters.Count - 1; i >= 0; i--) current = Filters[i].Decode(current);
        return current;
    }

    /// <summary>
    /// Parses a codec name as given on a command line or in configuration: <c>zstd</c>, <c>zstd:5</c>, <c>zlib</c>,
    /// <c>gzip:9</c>, <c>none</c>; <paramref name="shuffleElementSize"/> &gt; 0 adds the shuffle filter.
    /// </summary>
    public static CodecPipeline Parse(string name, int shuffleElementSize = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        var colon = name.IndexOf(':');
        var id = (colon < 0 ? name : name[..colon]).Trim().ToLowerInvariant();
        int? level = null;
        if (colon >= 0)
        {
            if (!int.TryParse(name[(colon + 1)..], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var l))
                throw new ArgumentException($"compressor '{name}': the level after ':' must be an integer", nameof(name));
            level = l;
        }
        IBytesCodec? compressor = id switch
        {
            "zstd" => new ZstdCodec(CheckLevel(name, level ?? 3, 1, 22)),
            "zlib" => new ZlibCodec(CheckLevel(name, level ?? 5, 0, 9)),
            "gzip" => new GzipCodec(CheckLevel(name, level ?? 5, 0, 9)),
            "none" or "" => null,
            _ => throw new ArgumentException($"unknown compressor '{name}': use zstd, zlib, gzip or none (optionally ':level')", nameof(name)),
        };
        IReadOnlyList<IBytesCodec> filters = shuffleElementSize > 1 ? [new ShuffleFilter(shuffleElementSize)] : [];
        return new CodecPipeline(filters, compressor);
    }

    private static int CheckLevel(string name, int level, int min, int max) =>
        level >= min && level <= max ? level
            : throw new ArgumentException($"compressor '{name}': level {level} is outside {min}..{max}", nameof(name));
}
