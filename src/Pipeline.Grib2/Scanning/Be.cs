using System.Buffers.Binary;

namespace Pipeline.Grib2;

/// <summary>Big-endian readers for GRIB octets, with GRIB's sign-and-magnitude signed integers.</summary>
internal static class Be
{
    public static int U16(ReadOnlySpan<byte> s, int i) => BinaryPrimitives.ReadUInt16BigEndian(s[i..]);
    public static uint U32(ReadOnlySpan<byte> s, int i) => BinaryPrimitives.ReadUInt32BigEndian(s[i..]);
    public static ulong U64(ReadOnlySpan<byte> s, int i) => BinaryPrimitives.ReadUInt64BigEndian(s[i..]);
    public static int U24(ReadOnlySpan<byte> s, int i) => (s[i] << 16) | (s[i + 1] << 8) | s[i + 2];

    /// <summary>Signed 16-bit, sign bit first then magnitude (GRIB2 regulation 92.1.5).</summary>
    public static int S16(ReadOnlySpan<byte> s, int i)
    {
        var v = U16(s, i);
        return (v & 0x8000) != 0 ? -(v & 0x7FFF) : v;
    }

    public static int S8(ReadOnlySpan<byte> s, int i) => (s[i] & 0x80) != 0 ? -(s[i] & 0x7F) : s[i];

    public static long S32(ReadOnlySpan<byte> s, int i)
    {
        var v = U32(s, i);
        return (v & 0x8000_0000u) != 0 ? -(long)(v & 0x7FFF_FFFFu) : v;
    }

    public static float F32(ReadOnlySpan<byte> s, int i) => BinaryPrimitives.ReadSingleBigEndian(s[i..]);
}
