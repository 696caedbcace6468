using System.IO.Compression;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    // Encode: byte j of element i -> j * count + i; decode the inverse. Blocks of elements that fit in L1 (the 'size'
    // rows of a block stay hot), each row written (or read) sequentially. Within a block, 4- and 8-byte elements (the
    // float32 fields and float64 coordinates) go 16 at a time through SSSE3 byte shuffles and an SSE2 transpose, about
    // six times the speed of the byte loop, which takes the rest (other sizes, the last elements, non-x86 machines).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Transpose(ReadOnlySpan<byte> data, Span<byte> output, int size, bool encode)
    {
        var count = data.Length / size;
        if (size <= 1 || count == 0)
        {
            data.CopyTo(output);
            return;
        }
        var simd = Ssse3.IsSupported && size is 4 or 8;
        fixed (byte* src = data)
        fixed (byte* dst = output)
        {
            const int block = 2048;
            for (var start = 0; start < count; start += block)
            {
                var n = Math.Min(block, count - start);
                var done = 0;
                if (simd)
                {
                    done = n & ~15;
                    byte* interleaved = encode ? src + (long)start * size : dst + (long)start * size;
                    byte* planes = (encode ? dst : src) + start;
                    for (var i = 0; i < done; i += 16)
                    {
                        if (size == 4) Shuffle4(interleaved + i * 4, planes + i, count, encode);
                        else Shuffle8(interleaved + i * 8, planes + i, count, encode);
                    }
                }
                for (var j = 0; j < size; j++)
                {
                    if (encode)
                    {
                        var d = dst + (long)j * count + start;
                        var p = src + (long)(start + done) * size + j;
                        for (var i = done; i < n; i++, p += size) d[i] = *p;
                    }
                    else
                    {
                        var q = src + (long)j * count + start;
                        var p = dst + (long)(start + done) * size + j;
                        for (var i = done; i < n; i++, p += size) *p = q[i];
                    }
                }
            }
        }
        data[(count * size)..].CopyTo(output[(count * size)..]);
    }

    // 16 four-byte elements (64 interleaved bytes) <-> 4 planes of 16 bytes, 'stride' apart. Each vector of 4 elements
    // is byte-shuffled so that its int32 lane j holds byte j of the 4; a 4x4 int32 transpose then gathers lane j of the
    // 4 vectors into plane j. Both steps are their own inverse, so decoding runs them in the other order.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe void Shuffle4(byte* interleaved, byte* planes, long stride, bool encode)
    {
        var m = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        Vector128<byte> a0, a1, a2, a3;
        if (encode)
        {
            a0 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved), m);
            a1 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 16), m);
            a2 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 32), m);
            a3 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 48), m);
        }
        else
        {
            a0 = Sse2.LoadVector128(planes);
            a1 = Sse2.LoadVector128(planes + stride);
            a2 = Sse2.LoadVector128(planes + 2 * stride);
            a3 = Sse2.LoadVector128(planes + 3 * stride);
        }
        var t0 = Sse2.UnpackLow(a0.AsInt32(), a1.AsInt32()).AsInt64();
        var t1 = Sse2.UnpackHigh(a0.AsInt32(), a1.AsInt32()).AsInt64();
        var t2 = Sse2.UnpackLow(a2.AsInt32(), a3.AsInt32()).AsInt64();
        var t3 = Sse2.UnpackHigh(a2.AsInt32(), a3.AsInt32()).AsInt64();
        var r0 = Sse2.UnpackLow(t0, t2).AsByte();
        var r1 = Sse2.UnpackHigh(t0, t2).AsByte();
        var r2 = Sse2.UnpackLow(t1, t3).AsByte();
        var r3 = Sse2.UnpackHigh(t1, t3).AsByte();
        if (encode)
        {
            Sse2.Store(planes, r0);
            Sse2.Store(planes + stride, r1);
            Sse2.Store(planes + 2 * stride, r2);
            Sse2.Store(planes + 3 * stride, r3);
        }
        else
        {
            Sse2.Store(interleaved, Ssse3.Shuffle(r0, m));
            Sse2.Store(interleaved + 16, Ssse3.Shuffle(r1, m));
            Sse2.Store(interleaved + 32, Ssse3.Shuffle(r2, m));
            Sse2.Store(interleaved + 48, Ssse3.Shuffle(r3, m));
        }
    }

    // 16 eight-byte elements (128 interleaved bytes) <-> 8 planes of 16 bytes. Each vector of 2 elements is
    // byte-shuffled so that its int16 lane j holds byte j of the 2; an 8x8 int16 transpose (three unpack stages)
    // gathers lane j of the 8 vectors into plane j. Decoding: the same transpose, then the inverse byte shuffle.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe void Shuffle8(byte* interleaved, byte* planes, long stride, bool encode)
    {
        var m = Vector128.Create((byte)0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        var inverse = Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        Vector128<short> a0, a1, a2, a3, a4, a5, a6, a7;
        if (encode)
        {
            a0 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved), m).AsInt16();
            a1 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 16), m).AsInt16();
            a2 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 32), m).AsInt16();
            a3 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 48), m).AsInt16();
            a4 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 64), m).AsInt16();
            a5 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 80), m).AsInt16();
            a6 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 96), m).AsInt16();
            a7 = Ssse3.Shuffle(Sse2.LoadVector128(interleaved + 112), m).AsInt16();
        }
        else
        {
            a0 = Sse2.LoadVector128(planes).AsInt16();
            a1 = Sse2.LoadVector128(planes + stride).AsInt16();
            a2 = Sse2.LoadVector128(planes + 2 * stride).AsInt16();
            a3 = Sse2.LoadVector128(planes + 3 * stride).AsInt16();
            a4 = Sse2.LoadVector128(planes + 4 * stride).AsInt16();
            a5 = Sse2.LoadVector128(planes + 5 * stride).AsInt16();
            a6 = Sse2.LoadVector128(planes + 6 * stride).AsInt16();
            a7 = Sse2.LoadVector128(planes + 7 * stride).AsInt16();
        }
        var t0 = Sse2.UnpackLow(a0, a1).AsInt32();
        var t1 = Sse2.UnpackHigh(a0, a1).AsInt32();
        var t2 = Sse2.UnpackLow(a2, a3).AsInt32();
        var t3 = Sse2.UnpackHigh(a2, a3).AsInt32();
        var t4 = Sse2.UnpackLow(a4, a5).AsInt32();
        var t5 = Sse2.UnpackHigh(a4, a5).AsInt32();
        var t6 = Sse2.UnpackLow(a6, a7).AsInt32();
        var t7 = Sse2.UnpackHigh(a6, a7).AsInt32();
        var u0 = Sse2.UnpackLow(t0, t2).AsInt64();
        var u1 = Sse2.UnpackHigh(t0, t2).AsInt64();
        var u2 = Sse2.UnpackLow(t1, t3).AsInt64();
        var u3 = Sse2.UnpackHigh(t1, t3).AsInt64();
        var u4 = Sse2.UnpackLow(t4, t6).AsInt64();
        var u5 = Sse2.UnpackHigh(t4, t6).AsInt64();
        var u6 = Sse2.UnpackLow(t5, t7).AsInt64();
        var u7 = Sse2.UnpackHigh(t5, t7).AsInt64();
        Store8(interleaved, planes, stride, 0, Sse2.UnpackLow(u0, u4).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 1, Sse2.UnpackHigh(u0, u4).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 2, Sse2.UnpackLow(u1, u5).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 3, Sse2.UnpackHigh(u1, u5).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 4, Sse2.UnpackLow(u2, u6).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 5, Sse2.UnpackHigh(u2, u6).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 6, Sse2.UnpackLow(u3, u7).AsByte(), inverse, encode);
        Store8(interleaved, planes, stride, 7, Sse2.UnpackHigh(u3, u7).AsByte(), inverse, encode);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store8(byte* interleaved, byte* planes, long stride, int j, Vector128<byte> r, Vector128<byte> inverse, bool encode)
    {
        if (encode) Sse2.Store(planes + j * stride, r);
        else Sse2.Store(interleaved + 16 * j, Ssse3.Shuffle(r, inverse));
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
