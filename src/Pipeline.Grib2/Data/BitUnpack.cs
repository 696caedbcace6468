using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pipeline.Grib2.Data;

/// <summary>
/// Big-endian bit unpacking of unsigned integers (0 to 64 bits wide) as GRIB packs them. Bulk calls have fast
/// paths for byte-aligned widths and a branch-free 64-bit window for the rest; no allocation.
/// </summary>
internal static class BitUnpack
{
    /// <summary>Reads one value of <paramref name="nbits"/> (0..64) at bit position <paramref name="bitPos"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Read(ReadOnlySpan<byte> src, long bitPos, int nbits)
    {
        if (nbits == 0) return 0;
        var byteIndex = (int)(bitPos >> 3);
        var shift = (int)(bitPos & 7);
        if (nbits <= 57 && byteIndex + 8 <= src.Length)
        {
            var window = BinaryPrimitives.ReadUInt64BigEndian(src[byteIndex..]);
            return (window << shift) >> (64 - nbits);
        }
        return ReadSlow(src, bitPos, nbits);
    }

    private static ulong ReadSlow(ReadOnlySpan<byte> src, long bitPos, int nbits)
    {
        ulong v = 0;
        var remaining = nbits;
        var byteIndex = (int)(bitPos >> 3);
        var bitInByte = (int)(bitPos & 7);
        while (remaining > 0)
        {
            var take = Math.Min(8 - bitInByte, remaining);
            var b = src[byteIndex];
            var bits = (b >> (8 - bitInByte - take)) & ((1 << take) - 1);
            v = (v << take) | (uint)bits;
            remaining -= take;
            bitInByte = 0;
            byteIndex++;
        }
        return v;
    }

    /// <summary>Bytes needed for <paramref name="count"/> values of <paramref name="nbits"/> bits.</summary>
    public static long BytesFor(long count, int nbits) => (count * nbits + 7) >> 3;

    /// <summary>
    /// Unpacks <paramref name="dest"/>.Length values of <paramref name="nbits"/> (0..32) starting at
    /// <paramref name="bitPos"/>. The caller checks that the source holds them.
    /// </summary>
    public static void Unpack(ReadOnlySpan<byte> src, long bitPos, int nbits, Span<uint> dest)
    {
        var n = dest.Length;
        if (n == 0) return;
        if (nbits == 0)
        {
            dest.Clear();
            return;
        }
        if ((bitPos & 7) == 0)
        {
            var start = (int)(bitPos >> 3);
            switch (nbits)
            {
                case 8:
                    Widen8(src.Slice(start, n), dest);
                    return;
                case 16:
                    Widen16(src.Slice(start, n * 2), dest);
                    return;
                case 32:
                    var s32 = MemoryMarshal.Cast<byte, uint>(src.Slice(start, n * 4));
                    if (BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(s32, dest);
                    else s32.CopyTo(dest);
                    return;
                case 24:
                    var s24 = src.Slice(start, n * 3);
                    for (var i = 0; i < n; i++)
                        dest[i] = (uint)((s24[3 * i] << 16) | (s24[3 * i + 1] << 8) | s24[3 * i + 2]);
                    return;
            }
        }
        Generic(src, bitPos, nbits, dest);
    }

    private static void Widen8(ReadOnlySpan<byte> src, Span<uint> dest)
    {
        for (var i = 0; i < dest.Length; i++) dest[i] = src[i];
    }

    private static void Widen16(ReadOnlySpan<byte> src, Span<uint> dest)
    {
        for (var i = 0; i < dest.Length; i++) dest[i] = (uint)((src[2 * i] << 8) | src[2 * i + 1]);
    }

    private static void Generic(ReadOnlySpan<byte> src, long bitPos, int nbits, Span<uint> dest)
    {
        var n = dest.Length;
        // The fast loop reads 8 bytes at byte (pos >> 3); stop it where that would run past the source.
        long lastFast = ((long)(src.Length - 8) * 8 - bitPos) / nbits; // values whose 8-byte window fits
        var fast = (int)Math.Clamp(lastFast, 0, n);
        ref var s0 = ref MemoryMarshal.GetReference(src);
        var down = 64 - nbits;
        var pos = bitPos;
        var i = 0;
        for (; i < fast; i++)
        {
            var w = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref s0, (nint)(pos >> 3))));
            dest[i] = (uint)((w << (int)(pos & 7)) >> down);
            pos += nbits;
        }
        for (; i < n; i++)
        {
            dest[i] = (uint)ReadSlow(src, pos, nbits);
            pos += nbits;
        }
    }
}
