using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Pipeline.Grib2.Data;

/// <summary>
/// Template 5.41: the integers are the pixels of a PNG image (grey 1-16 bits, grey+alpha, RGB, RGBA), each pixel's
/// samples read as one big-endian integer. Pure C#: zlib through System.IO.Compression, then the PNG row filters.
/// </summary>
internal static class PngPacking
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static void Decode(GribField field, Span<double> dest) => Decode<double>(field, dest);

    /// <summary>
    /// Decodes to doubles, or straight to float32 (each value computed in double, then narrowed: the same floats as
    /// decoding to doubles first; ecCodes' missingValue 9999 becomes NaN, as cfgrib reads it): a 24.5 M-point radar
    /// mosaic then needs no 196 MB of doubles between the PNG rows and its float32 chunks.
    /// </summary>
    public static void Decode<T>(GribField field, Span<T> dest) where T : unmanaged
    {
        var at5 = field.Offsets.S5;
        var at7 = field.Offsets.S7;
        var h = SimpleHeader.Read(field.Section5.Span, at5);
        var n = dest.Length;
        if (h.BitsPerValue == 0)
        {
            for (var i = 0; i < n; i++) Put(dest, i, h.Reference);
            return;
        }
        var png = field.Section7.Span[5..];
        if (png.Length < 8 + 25 || !png[..8].SequenceEqual(Signature))
            throw new GribFormatException("section 7 does not hold a PNG image (bad signature)", at7, 7);
        var pos = 8;
        int width = 0, height = 0, depth = 0, colorType = -1;
        // The zlib stream is the IDAT bodies joined: used in place when there is one IDAT chunk (the usual case),
        // joined into a pooled buffer otherwise.
        ReadOnlySpan<byte> firstIdat = default;
        byte[]? joined = null;
        var joinedLength = 0;
        var idatCount = 0;
        while (pos + 12 <= png.Length)
        {
            var len = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            var type = png.Slice(pos + 4, 4);
            if (len > (uint)(png.Length - pos - 12))
                throw new GribFormatException($"PNG chunk '{System.Text.Encoding.ASCII.GetString(type)}' runs past section 7", at7, 7);
            var body = png.Slice(pos + 8, (int)len);
            if (type.SequenceEqual("IHDR"u8))
            {
                if (len < 13) throw new GribFormatException("PNG IHDR chunk too short", at7, 7);
                width = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(body), int.MaxValue);
                height = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(body[4..]), int.MaxValue);
                depth = body[8];
                colorType = body[9];
                if (body[10] != 0 || body[11] != 0)
                    throw new GribFormatException("PNG compression or filter method is not 0", at7, 7);
                if (body[12] != 0)
                    throw new GribFormatException("interlaced PNG is not supported in GRIB", at7, 7);
            }
            else if (type.SequenceEqual("IDAT"u8))
            {
                if (idatCount == 0)
                {
                    firstIdat = body;
                }
                else
                {
                    if (joined is null)
                    {
                        joined = ArrayPool<byte>.Shared.Rent(png.Length);
                        firstIdat.CopyTo(joined);
                        joinedLength = firstIdat.Length;
                    }
                    body.CopyTo(joined.AsSpan(joinedLength));
                    joinedLength += body.Length;
                }
                idatCount++;
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }
            pos += 12 + (int)len;
        }
        var channels = colorType switch
        {
            0 => 1,
            2 => 3,
            4 => 2,
            6 => 4,
            _ => throw new GribFormatException($"PNG colour type {colorType} is not supported (grey, grey+alpha, RGB, RGBA)", at7, 7),
        };
        if (depth is not (1 or 2 or 4 or 8 or 16) || (depth < 8 && channels != 1))
            throw new GribFormatException($"PNG bit depth {depth} with colour type {colorType} is not valid", at7, 7);
        var bitsPerPixel = depth * channels;
        if (bitsPerPixel > 32)
            throw new GribFormatException($"PNG pixels of {bitsPerPixel} bits are wider than GRIB's 32", at7, 7);
        if ((long)width * height < n || width == 0 || height == 0)
            throw new GribFormatException($"PNG image {width}x{height} holds fewer pixels than the {n} values of section 5", at7, 7);
        // Rows needed for n values: never inflate more than the data needs.
        var rowBytes = (int)(((long)width * bitsPerPixel + 7) >> 3);
        var rows = (int)Math.Min(height, ((long)n + width - 1) / width);
        var stride = rowBytes + 1;
        var total = (long)stride * rows;
        if (total > int.MaxValue)
            throw new GribFormatException($"PNG image {width}x{height} is too large", at7, 7);
        var raw = ArrayPool<byte>.Shared.Rent((int)total);
        try
        {
            Inflate(joined is null ? firstIdat : joined.AsSpan(0, joinedLength), raw.AsSpan(0, (int)total), at7);
            Unfilter(raw.AsSpan(0, (int)total), rows, rowBytes, Math.Max(1, bitsPerPixel / 8), at7);
            var scaling = h.Scaling;
            double b = scaling.Binary, r = scaling.Reference, d = scaling.Decimal;
            var k = 0;
            for (var row = 0; row < rows && k < n; row++)
            {
                var line = raw.AsSpan(row * stride + 1, rowBytes);
                var m = Math.Min(width, n - k);
                var outRow = dest.Slice(k, m);
                switch (bitsPerPixel)
                {
                    case 8:
                        for (var i = 0; i < m; i++) Put(outRow, i, (line[i] * b + r) * d);
                        break;
                    case 16:
                        for (var i = 0; i < m; i++) Put(outRow, i, (((line[2 * i] << 8) | line[2 * i + 1]) * b + r) * d);
                        break;
                    case 24:
                        for (var i = 0; i < m; i++)
                            Put(outRow, i, (((line[3 * i] << 16) | (line[3 * i + 1] << 8) | line[3 * i + 2]) * b + r) * d);
                        break;
                    case 32:
                        for (var i = 0; i < m; i++) Put(outRow, i, (BinaryPrimitives.ReadUInt32BigEndian(line[(4 * i)..]) * b + r) * d);
                        break;
                    default:
                        for (var i = 0; i < m; i++) Put(outRow, i, (BitUnpack.Read(line, (long)i * bitsPerPixel, bitsPerPixel) * b + r) * d);
                        break;
                }
                k += m;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
            if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(Span<T> row, int i, double v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) System.Runtime.CompilerServices.Unsafe.As<T, float>(ref row[i]) = v == 9999 ? float.NaN : (float)v;
        else System.Runtime.CompilerServices.Unsafe.As<T, double>(ref row[i]) = v;
    }

    private static unsafe void Inflate(ReadOnlySpan<byte> zlib, Span<byte> output, long at7)
    {
        try
        {
            fixed (byte* p = zlib)
            {
                using var source = new UnmanagedMemoryStream(p, zlib.Length);
                using var z = new ZLibStream(source, CompressionMode.Decompress);
                var got = 0;
                while (got < output.Length)
                {
                    var read = z.Read(output[got..]);
                    if (read == 0) break;
                    got += read;
                }
                if (got < output.Length)
                    throw new GribFormatException($"the PNG image data inflate to {got} bytes, {output.Length} are needed", at7, 7);
            }
        }
        catch (InvalidDataException e)
        {
            throw new GribFormatException($"the PNG image data are not a valid zlib stream: {e.Message}", at7, 7, e);
        }
    }

    private static void Unfilter(Span<byte> raw, int rows, int rowBytes, int bpp, long at7)
    {
        var stride = rowBytes + 1;
        for (var y = 0; y < rows; y++)
        {
            var filter = raw[y * stride];
            var cur = raw.Slice(y * stride + 1, rowBytes);
            var prev = y > 0 ? raw.Slice((y - 1) * stride + 1, rowBytes) : default;
            switch (filter)
            {
                case 0:
                    break;
                case 1:
                    for (var i = bpp; i < rowBytes; i++) cur[i] += cur[i - bpp];
                    break;
                case 2:
                    if (y > 0) for (var i = 0; i < rowBytes; i++) cur[i] += prev[i];
                    break;
                case 3:
                    for (var i = 0; i < rowBytes; i++)
                    {
                        var left = i >= bpp ? cur[i - bpp] : 0;
                        var up = y > 0 ? prev[i] : 0;
                        cur[i] += (byte)((left + up) >> 1);
                    }
                    break;
                case 4:
                    for (var i = 0; i < rowBytes; i++)
                    {
                        int a = i >= bpp ? cur[i - bpp] : 0, bb = y > 0 ? prev[i] : 0, c = i >= bpp && y > 0 ? prev[i - bpp] : 0;
                        cur[i] += (byte)Paeth(a, bb, c);
                    }
                    break;
                default:
                    throw new GribFormatException($"PNG row {y} has filter type {filter} (0 to 4 are defined)", at7, 7);
            }
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
