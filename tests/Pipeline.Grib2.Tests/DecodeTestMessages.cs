using System.Buffers.Binary;

namespace Pipeline.Grib2.Tests;

/// <summary>Builds small GRIB2 messages byte by byte (simple packing, lat/lon grid) for tests that need no ecCodes.</summary>
internal static class DecodeTestMessages
{
    public sealed record Field(uint[] Packed, int Bits, float Reference = 0, int BinaryScale = 0, int DecimalScale = 0,
        bool[]? Bitmap = null, bool ReuseBitmap = false);

    /// <summary>A message on an ni x nj grid holding the given fields (sections 4-7 repeated per field).</summary>
    public static byte[] Message(int ni, int nj, params Field[] fields)
    {
        var body = new List<byte>();
        body.AddRange(Section(1, S1()));
        body.AddRange(Section(3, S3(ni, nj)));
        foreach (var f in fields)
        {
            body.AddRange(Section(4, S4()));
            body.AddRange(Section(5, S5(f)));
            if (f.ReuseBitmap) body.AddRange(Section(6, [254]));
            else if (f.Bitmap is null) body.AddRange(Section(6, [255]));
            else body.AddRange(Section(6, [0, .. PackBits(f.Bitmap)]));
            body.AddRange(Section(7, Pack(f.Packed, f.Bits)));
        }
        var total = 16 + body.Count + 4;
        var msg = new byte[total];
        "GRIB"u8.CopyTo(msg);
        msg[6] = 0; // discipline
        msg[7] = 2;
        BinaryPrimitives.WriteUInt64BigEndian(msg.AsSpan(8), (ulong)total);
        body.CopyTo(msg, 16);
        "7777"u8.CopyTo(msg.AsSpan(total - 4));
        return msg;
    }

    public static byte[] Pack(uint[] values, int bits)
    {
        var bytes = new byte[(values.Length * (long)bits + 7) / 8];
        long pos = 0;
        foreach (var v in values)
        {
            for (var b = bits - 1; b >= 0; b--, pos++)
                if (((v >> b) & 1) != 0) bytes[pos >> 3] |= (byte)(0x80 >> (int)(pos & 7));
        }
        return bytes;
    }

    public static byte[] PackBits(bool[] bits)
    {
        var bytes = new byte[(bits.Length + 7) / 8];
        for (var i = 0; i < bits.Length; i++)
            if (bits[i]) bytes[i >> 3] |= (byte)(0x80 >> (i & 7));
        return bytes;
    }

    private static byte[] Section(int number, byte[] content)
    {
        var s = new byte[5 + content.Length];
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)s.Length);
        s[4] = (byte)number;
        content.CopyTo(s, 5);
        return s;
    }

    private static byte[] S1()
    {
        var s = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(s, 98); // centre
        s[4] = 28; // master tables
        s[6] = 1; // significance: start of forecast
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(7), 2024);
        s[9] = 2; s[10] = 29; s[11] = 12; s[12] = 30; s[13] = 0;
        s[14] = 0; s[15] = 1;
        return s;
    }

    private static byte[] S3(int ni, int nj)
    {
        var s = new byte[67]; // template 3.0: section length 72
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(1), (uint)(ni * nj)); // octets 7-10
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(7), 0); // template 3.0 (octets 13-14)
        s[9] = 6; // shape of the earth
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(25), (uint)ni); // octets 31-34
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(29), (uint)nj); // octets 35-38
        return s;
    }

    private static byte[] S4()
    {
        var s = new byte[29]; // template 4.0: section length 34
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(2), 0); // template 4.0 (octets 8-9)
        s[4] = 0; s[5] = 0; // category, number: temperature
        return s;
    }

    private static byte[] S5(Field f)
    {
        var s = new byte[16]; // template 5.0: section length 21
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)f.Packed.Length);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(4), 0);
        BinaryPrimitives.WriteSingleBigEndian(s.AsSpan(6), f.Reference);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(10), SignMagnitude(f.BinaryScale));
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(12), SignMagnitude(f.DecimalScale));
        s[14] = (byte)f.Bits;
        return s;
    }

    private static ushort SignMagnitude(int v) => (ushort)(v < 0 ? 0x8000 | -v : v);
}
