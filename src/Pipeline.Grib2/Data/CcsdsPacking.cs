using System.Runtime.InteropServices;

namespace Pipeline.Grib2.Data;

/// <summary>Template 5.42: CCSDS (adaptive entropy coding) through libaec, loaded at first use.</summary>
internal static unsafe class CcsdsPacking
{
    private const int AecDataSigned = 1, AecData3Byte = 2, AecDataMsb = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct AecStream
    {
        public byte* NextIn;
        public nuint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public nuint TotalOut;
        public uint BitsPerSample;
        public uint BlockSize;
        public uint Rsi;
        public uint Flags;
        public void* State;
    }

    private static readonly Lazy<nint> BufferDecode = new(() =>
    {
        var lib = NativeCodecs.Load("libaec.so.0", "libaec0", "CCSDS (template 5.42)", "libaec.so");
        return NativeLibrary.GetExport(lib, "aec_buffer_decode");
    });

    public static void Decode(GribField field, Span<double> dest) => Decode(field, dest, managed: true);

    /// <summary>
    /// <paramref name="managed"/>: unsigned samples (the common case) go through the C# decoder (AecDecoder), the rest
    /// through libaec; false sends everything to libaec (the differential tests compare both).
    /// </summary>
    internal static void Decode(GribField field, Span<double> dest, bool managed)
    {
        var s5 = field.Section5.Span;
        var at5 = field.Offsets.S5;
        if (s5.Length < 25)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, template 5.42 needs 25", at5, 5);
        var h = SimpleHeader.Read(s5, at5);
        int flags = s5[21], blockSize = s5[22], rsi = Be.U16(s5, 23);
        var bits = h.BitsPerValue;
        var n = dest.Length;
        if (bits == 0)
        {
            dest.Fill(h.Reference);
            return;
        }
        if (bits > 32)
            throw new GribFormatException($"{bits} bits per value: CCSDS supports at most 32", at5, 5);
        if (blockSize is not (8 or 16 or 32 or 64) || rsi is 0 or > 4096)
            throw new GribFormatException($"CCSDS block size {blockSize} / reference sample interval {rsi} is not valid", at5, 5);
        if (n == 0) return;
        if (managed && AecDecoder.Supports(bits, flags))
        {
            AecDecoder.Decode(field.Section7.Span[5..], bits, blockSize, rsi, flags, dest, h.Scaling, field.Offsets.S7);
            return;
        }
        DecodeWithLibaec(field, dest, h, bits, blockSize, rsi, flags);
    }

    private static void DecodeWithLibaec(GribField field, Span<double> dest, SimpleHeader h, int bits, int blockSize, int rsi, int flags)
    {
        var n = dest.Length;
        // Native-endian (little) samples of 1, 2 or 4 bytes, as ecCodes asks libaec for them.
        flags &= ~(AecData3Byte | AecDataMsb);
        var nbytes = bits <= 8 ? 1 : bits <= 16 ? 2 : 4;
        var outBytes = (long)n * nbytes;
        // libaec writes the samples straight into the last bytes of the destination; they are then scaled in place
        // (VectorScale.FromSamplesInTail), so no buffer is rented or copied.
        var target = MemoryMarshal.AsBytes(dest);
        var data = field.Section7.Span[5..];
        int rc;
        nuint produced;
        fixed (byte* input = data)
        fixed (byte* whole = target)
        {
            var strm = new AecStream
            {
                NextIn = input,
                AvailIn = (nuint)data.Length,
                NextOut = whole + (target.Length - outBytes),
                AvailOut = (nuint)outBytes,
                BitsPerSample = (uint)bits,
                BlockSize = (uint)blockSize,
                Rsi = (uint)rsi,
                Flags = (uint)flags,
            };
            rc = ((delegate* unmanaged<AecStream*, int>)BufferDecode.Value)(&strm);
            produced = strm.TotalOut;
        }
        if (rc != 0)
            throw new GribFormatException($"libaec could not decode the CCSDS stream (error {rc})", field.Offsets.S7, 7);
        if (produced < (nuint)outBytes)
            throw new GribFormatException(
                $"the CCSDS stream holds {(long)produced / nbytes} values, section 5 says {n}", field.Offsets.S7, 7);
        VectorScale.FromSamplesInTail(dest, nbytes, (flags & AecDataSigned) != 0, h.Scaling);
    }
}
