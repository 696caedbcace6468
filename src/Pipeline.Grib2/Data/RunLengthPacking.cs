namespace Pipeline.Grib2.Data;

/// <summary>
/// Template 5.200 (JMA run-length packing with level values). Section 5: octet 12 bits per value, 13-14 MV
/// (largest level index), 15-16 MVL (number of levels), 17 decimal scale factor, 18.. the level values (2
/// octets each). Section 7: level indices (≤ MV) each followed by optional run-length digits (> MV) that add
/// (digit - MV - 1) * (2^bits - 1 - MV)^k repetitions. Level 0 is a missing point (NaN).
/// </summary>
internal static class RunLengthPacking
{
    public static void Decode(GribField field, Span<double> dest)
    {
        var s5 = field.Section5.Span;
        var at5 = field.Offsets.S5;
        if (s5.Length < 17)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, template 5.200 needs at least 17", at5, 5);
        int nbits = s5[11], maxv = Be.U16(s5, 12), levels = Be.U16(s5, 14), decimalScale = s5[16];
        if (nbits is 0 or > 16)
            throw new GribFormatException($"{nbits} bits per value: run-length packing needs 1 to 16", at5, 5);
        if (17 + 2L * levels > s5.Length)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, {levels} level values need {17 + 2 * levels}", at5, 5);
        var rlbase = maxv + 1;
        var lngu = (1L << nbits) - rlbase;
        if (lngu <= 0)
            throw new GribFormatException($"MV {maxv} leaves no run-length digits in {nbits} bits", at5, 5);
        var factor = Scaling.Power(-decimalScale, 10);
        Span<double> map = levels < 2048 ? stackalloc double[levels + 1] : new double[levels + 1];
        map[0] = double.NaN;
        for (var k = 0; k < levels; k++) map[k + 1] = Be.U16(s5, 17 + 2 * k) * factor;

        var data = field.Section7.Span[5..];
        var at7 = field.Offsets.S7;
        long total = (long)data.Length * 8 / nbits;
        var n = dest.Length;
        var count = 0;
        var current = double.NaN;
        var haveLevel = false;
        long exp = 1;
        for (long i = 0; i < total; i++)
        {
            var v = (int)BitUnpack.Read(data, i * nbits, nbits);
            if (v < rlbase)
            {
                if (v > levels)
                    throw new GribFormatException($"level index {v} but only {levels} levels are defined", at7, 7);
                if (count >= n)
                {
                    if (v == 0 && AllZeroFrom(data, i * nbits)) break; // padding at the end
                    throw new GribFormatException($"run-length data hold more than the {n} values of section 5", at7, 7);
                }
                current = map[v];
                dest[count++] = current;
                haveLevel = true;
                exp = 1;
            }
            else
            {
                if (!haveLevel)
                    throw new GribFormatException("run-length data start with a repeat count instead of a level", at7, 7);
                var repeat = (v - rlbase) * exp;
                if (repeat > n - count)
                    throw new GribFormatException($"run-length data hold more than the {n} values of section 5", at7, 7);
                dest.Slice(count, (int)repeat).Fill(current);
                count += (int)repeat;
                exp = exp > n ? n + 1L : exp * lngu;
            }
        }
        if (count != n)
            throw new GribFormatException($"run-length data hold {count} values, section 5 says {n}", at7, 7);
    }

    private static bool AllZeroFrom(ReadOnlySpan<byte> data, long bitPos)
    {
        var byteIndex = (int)(bitPos >> 3);
        if (byteIndex >= data.Length) return true;
        if ((data[byteIndex] & (0xFF >> (int)(bitPos & 7))) != 0) return false;
        return !data[(byteIndex + 1)..].ContainsAnyExcept((byte)0);
    }
}
