using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    public static unsafe void Decode<T>(GribField field, Span<T> dest) where T : unmanaged
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
        // Row by row through two row buffers (the row and the one above it): inflated, unfiltered and scaled while
        // in cache, with no image-sized buffer between zlib and the values.
        var raw = ArrayPool<byte>.Shared.Rent(2 * stride);
        var bpp = Math.Max(1, bitsPerPixel / 8);
        var scaling = h.Scaling;
        double b = scaling.Binary, r = scaling.Reference, d = scaling.Decimal;
        try
        {
            var zlib = joined is null ? firstIdat : joined.AsSpan(0, joinedLength);
            fixed (byte* zp = zlib)
            {
                using var source = new UnmanagedMemoryStream(zp, zlib.Length);
                using var z = new ZLibStream(source, CompressionMode.Decompress);
                var k = 0;
                for (var row = 0; row < rows && k < n; row++)
                {
                    var current = raw.AsSpan((row & 1) * stride, stride);
                    Inflate(z, current, (long)row * stride, total, at7);
                    var line = current[1..];
                    UnfilterRow(current[0], line, row > 0 ? raw.AsSpan(((row - 1) & 1) * stride + 1, rowBytes) : default, bpp, row, at7);
                    var m = Math.Min(width, n - k);
                    var outRow = dest.Slice(k, m);
                    switch (bitsPerPixel)
                    {
                        case 8:
                            VectorScale.FromUInt8(line, outRow, scaling);
                            break;
                        case 16:
                            VectorScale.FromBigEndianUInt16(line, outRow, scaling);
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
        }
        catch (InvalidDataException e)
        {
            throw new GribFormatException($"the PNG image data are not a valid zlib stream: {e.Message}", at7, 7, e);
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
        if (typeof(T) == typeof(float)) System.Runtime.CompilerServices.Unsafe.As<T, float>(ref row[i]) = VectorScale.Narrow(v);
        else System.Runtime.CompilerServices.Unsafe.As<T, double>(ref row[i]) = v;
    }

    /// <summary>Reads one whole row (<paramref name="row"/>'s bytes, starting <paramref name="offset"/> bytes into the image data).</summary>
    private static void Inflate(ZLibStream z, Span<byte> row, long offset, long total, long at7)
    {
        var got = 0;
        while (got < row.Length)
        {
            var read = z.Read(row[got..]);
            if (read == 0)
                throw new GribFormatException($"the PNG image data inflate to {offset + got} bytes, {total} are needed", at7, 7);
            got += read;
        }
    }

    /// <summary>
    /// Undoes one row's filter in place, given the row above already unfiltered (<paramref name="prev"/> empty for the
    /// first row: a row of zeros). Up is vectorized; Sub, Average and Paeth depend on the byte one pixel to the left
    /// and run as scalar loops without bounds checks (the lengths are checked once).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void UnfilterRow(byte filter, Span<byte> row, ReadOnlySpan<byte> prev, int bpp, int y, long at7)
    {
        var rowBytes = row.Length;
        if (bpp < 1) throw new ArgumentOutOfRangeException(nameof(bpp), bpp, "at least one byte per pixel");
        var first = prev.IsEmpty;
        if (!first && prev.Length < rowBytes) throw new ArgumentException($"the row above has {prev.Length} bytes, not {rowBytes}", nameof(prev));
        ref var cur = ref MemoryMarshal.GetReference(row);
        ref var up = ref first ? ref cur : ref MemoryMarshal.GetReference(prev);
        // The first row has an implicit row of zeros above it: Up leaves it, Average halves the left byte, Paeth is Sub.
        if (first && filter is 2 or 4) filter = (byte)(filter == 2 ? 0 : 1);
        var lead = Math.Min(bpp, rowBytes);
        if (bpp <= 2 && filter is 1 or 3 or 4 && !(first && filter == 3))
        {
            // Grey 8 and 16 bits (GRIB's PNG images): the bytes to the left carried in registers.
            if (bpp == 1) UnfilterGrey8(filter, ref cur, ref up, rowBytes);
            else UnfilterGrey16(filter, ref cur, ref up, rowBytes);
            return;
        }
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (var i = bpp; i < rowBytes; i++) Unsafe.Add(ref cur, i) += Unsafe.Add(ref cur, i - bpp);
                break;
            case 2:
                AddRow(ref cur, ref up, rowBytes);
                break;
            case 3 when first:
                for (var i = bpp; i < rowBytes; i++) Unsafe.Add(ref cur, i) += (byte)(Unsafe.Add(ref cur, i - bpp) >> 1);
                break;
            case 3:
                for (var i = 0; i < lead; i++) Unsafe.Add(ref cur, i) += (byte)(Unsafe.Add(ref up, i) >> 1);
                for (var i = bpp; i < rowBytes; i++)
                    Unsafe.Add(ref cur, i) += (byte)((Unsafe.Add(ref cur, i - bpp) + Unsafe.Add(ref up, i)) >> 1);
                break;
            case 4:
                // Left of the first pixel a and c are 0, so Paeth picks b (the byte above).
                for (var i = 0; i < lead; i++) Unsafe.Add(ref cur, i) += Unsafe.Add(ref up, i);
                for (var i = bpp; i < rowBytes; i++)
                    Unsafe.Add(ref cur, i) += (byte)Paeth(Unsafe.Add(ref cur, i - bpp), Unsafe.Add(ref up, i), Unsafe.Add(ref up, i - bpp));
                break;
            default:
                throw new GribFormatException($"PNG row {y} has filter type {filter} (0 to 4 are defined)", at7, 7);
        }
    }

    /// <summary>Sub, Average or Paeth (not the first row's Average) for one byte per pixel, the left byte in a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnfilterGrey8(byte filter, ref byte cur, ref byte up, int n)
    {
        if (n == 0) return;
        int a;
        switch (filter)
        {
            case 1:
                a = cur;
                for (var i = 1; i < n; i++) Unsafe.Add(ref cur, i) = (byte)(a += Unsafe.Add(ref cur, i));
                break;
            case 3:
                a = cur = (byte)(cur + (up >> 1));
                for (var i = 1; i < n; i++) Unsafe.Add(ref cur, i) = (byte)(a = (byte)(Unsafe.Add(ref cur, i) + ((a + Unsafe.Add(ref up, i)) >> 1)));
                break;
            default:
                a = cur = (byte)(cur + up);
                int c = up;
                for (var i = 1; i < n; i++)
                {
                    int b = Unsafe.Add(ref up, i);
                    Unsafe.Add(ref cur, i) = (byte)(a = (byte)(Unsafe.Add(ref cur, i) + Paeth(a, b, c)));
                    c = b;
                }
                break;
        }
    }

    /// <summary>
    /// Sub, Average or Paeth (not the first row's Average) for two bytes per pixel: the two byte lanes interleaved, each
    /// with its left byte (and for Paeth its upper-left byte) in a register instead of reloaded from the row just written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnfilterGrey16(byte filter, ref byte cur, ref byte up, int n)
    {
        if (n < 2)
        {
            // One byte, with nothing to its left: Sub leaves it, Average and Paeth take from above as for one-byte pixels.
            if (n == 1 && filter != 1) UnfilterGrey8(filter, ref cur, ref up, n);
            return;
        }
        int a0, a1, i;
        switch (filter)
        {
            case 1:
                a0 = cur;
                a1 = Unsafe.Add(ref cur, 1);
                for (i = 2; i + 1 < n; i += 2)
                {
                    Unsafe.Add(ref cur, i) = (byte)(a0 += Unsafe.Add(ref cur, i));
                    Unsafe.Add(ref cur, i + 1) = (byte)(a1 += Unsafe.Add(ref cur, i + 1));
                }
                if (i < n) Unsafe.Add(ref cur, i) = (byte)(a0 + Unsafe.Add(ref cur, i));
                break;
            case 3:
                a0 = cur = (byte)(cur + (up >> 1));
                a1 = Unsafe.Add(ref cur, 1) = (byte)(Unsafe.Add(ref cur, 1) + (Unsafe.Add(ref up, 1) >> 1));
                for (i = 2; i + 1 < n; i += 2)
                {
                    Unsafe.Add(ref cur, i) = (byte)(a0 = (byte)(Unsafe.Add(ref cur, i) + ((a0 + Unsafe.Add(ref up, i)) >> 1)));
                    Unsafe.Add(ref cur, i + 1) = (byte)(a1 = (byte)(Unsafe.Add(ref cur, i + 1) + ((a1 + Unsafe.Add(ref up, i + 1)) >> 1)));
                }
                if (i < n) Unsafe.Add(ref cur, i) = (byte)(Unsafe.Add(ref cur, i) + ((a0 + Unsafe.Add(ref up, i)) >> 1));
                break;
            default:
                a0 = cur = (byte)(cur + up);
                a1 = Unsafe.Add(ref cur, 1) = (byte)(Unsafe.Add(ref cur, 1) + Unsafe.Add(ref up, 1));
                int c0 = up, c1 = Unsafe.Add(ref up, 1);
                for (i = 2; i + 1 < n; i += 2)
                {
                    int b0 = Unsafe.Add(ref up, i), b1 = Unsafe.Add(ref up, i + 1);
                    Unsafe.Add(ref cur, i) = (byte)(a0 = (byte)(Unsafe.Add(ref cur, i) + Paeth(a0, b0, c0)));
                    Unsafe.Add(ref cur, i + 1) = (byte)(a1 = (byte)(Unsafe.Add(ref cur, i + 1) + Paeth(a1, b1, c1)));
                    c0 = b0;
                    c1 = b1;
                }
                if (i < n) Unsafe.Add(ref cur, i) = (byte)(Unsafe.Add(ref cur, i) + Paeth(a0, Unsafe.Add(ref up, i), c0));
                break;
        }
    }

    /// <summary>cur[i] += prev[i] for <paramref name="count"/> bytes, 32 (or 16) at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(ref byte cur, ref byte prev, int count)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - 32; i += 32)
                (Vector256.LoadUnsafe(ref cur, (nuint)i) + Vector256.LoadUnsafe(ref prev, (nuint)i)).StoreUnsafe(ref cur, (nuint)i);
        if (Vector128.IsHardwareAccelerated)
            for (; i <= count - 16; i += 16)
                (Vector128.LoadUnsafe(ref cur, (nuint)i) + Vector128.LoadUnsafe(ref prev, (nuint)i)).StoreUnsafe(ref cur, (nuint)i);
        for (; i < count; i++) Unsafe.Add(ref cur, i) += Unsafe.Add(ref prev, i);
    }

    /// <summary>The Paeth predictor without branches on the data (the choice is a conditional move, not a jump).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Paeth(int a, int b, int c)
    {
        int pa = Math.Abs(b - c), pb = Math.Abs(a - c), pc = Math.Abs(a + b - 2 * c);
        var bc = pb <= pc ? b : c;
        return (pa <= pb) & (pa <= pc) ? a : bc;
    }
}
