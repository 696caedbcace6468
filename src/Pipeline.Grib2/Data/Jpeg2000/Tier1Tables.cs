using System.Runtime.CompilerServices;

namespace Pipeline.Grib2.Data.Jpeg2000;

/// <summary>
/// Lookup tables of the MQ decoder (ISO 15444-1 Table C.2) and of EBCOT's contexts (Tables D.1 and D.3), built once
/// and kept on the pinned heap so the tier-1 loops index them through plain pointers.
/// </summary>
internal static unsafe class Tier1Tables
{
    // Context numbers: 0-8 zero coding, 9-13 sign coding, 14-16 magnitude refinement, 17 run length, 18 uniform.
    public const int CtxSc = 9, CtxMag = 14, CtxAgg = 17, CtxUni = 18, Contexts = 19;

    /// <summary>
    /// MQ state table indexed by state * 2 + MPS: bits 0-15 Qe, 16-22 the next index after an MPS, 23-29 after an LPS
    /// (the MPS flip of the switching states already folded in), bit 31 the MPS. A context holds its entry itself.
    /// </summary>
    public static readonly uint* Mq;

    /// <summary>Zero-coding context per orientation (0 LL, 1 HL, 2 LH, 3 HH) and 3x3 significance neighbourhood (9 bits).</summary>
    public static readonly byte* Zc;

    /// <summary>Sign-coding context (low 7 bits) and sign predictor (bit 7) per neighbour signs and significances.</summary>
    public static readonly byte* Sc;

    private static readonly uint[] MqArray = GC.AllocateArray<uint>(94, pinned: true);
    private static readonly byte[] ZcArray = GC.AllocateArray<byte>(4 * 512, pinned: true);
    private static readonly byte[] ScArray = GC.AllocateArray<byte>(256, pinned: true);

    static Tier1Tables()
    {
        ReadOnlySpan<ushort> qe =
        [
            0x5601, 0x3401, 0x1801, 0x0AC1, 0x0521, 0x0221, 0x5601, 0x5401, 0x4801, 0x3801, 0x3001, 0x2401, 0x1C01, 0x1601,
            0x5601, 0x5401, 0x5101, 0x4801, 0x3801, 0x3401, 0x3001, 0x2801, 0x2401, 0x2201, 0x1C01, 0x1801, 0x1601, 0x1401,
            0x1201, 0x1101, 0x0AC1, 0x09C1, 0x08A1, 0x0521, 0x0441, 0x02A1, 0x0221, 0x0141, 0x0111, 0x0085, 0x0049, 0x0025,
            0x0015, 0x0009, 0x0005, 0x0001, 0x5601,
        ];
        ReadOnlySpan<byte> nmps =
        [
            1, 2, 3, 4, 5, 38, 7, 8, 9, 10, 11, 12, 13, 29, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
            32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 45, 46,
        ];
        ReadOnlySpan<byte> nlps =
        [
            1, 6, 9, 12, 29, 33, 6, 14, 14, 14, 17, 18, 20, 21, 14, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 23, 24, 25, 26, 27,
            28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 46,
        ];
        for (var s = 0; s < 47; s++)
        for (var mps = 0; mps < 2; mps++)
        {
            var swap = s is 0 or 6 or 14;
            var nextMps = nmps[s] * 2 + mps;
            var nextLps = nlps[s] * 2 + (swap ? 1 - mps : mps);
            MqArray[s * 2 + mps] = qe[s] | (uint)nextMps << 16 | (uint)nextLps << 23 | (uint)mps << 31;
        }

        for (var orient = 0; orient < 4; orient++)
        for (var f = 0; f < 512; f++)
        {
            int nw = f & 1, n = (f >> 1) & 1, ne = (f >> 2) & 1, w = (f >> 3) & 1, e = (f >> 5) & 1;
            int sw = (f >> 6) & 1, s = (f >> 7) & 1, se = (f >> 8) & 1;
            int h = w + e, v = n + s, d = nw + ne + sw + se;
            int ctx;
            if (orient == 3)
            {
                var hv = h + v;
                ctx = d >= 3 ? 8 : d == 2 ? (hv >= 1 ? 7 : 6) : d == 1 ? (hv >= 2 ? 5 : hv == 1 ? 4 : 3) : (hv >= 2 ? 2 : hv);
            }
            else
            {
                if (orient == 1) (h, v) = (v, h); // HL: horizontally high-pass, vertical neighbours lead
                ctx = h == 2 ? 8
                    : h == 1 ? (v >= 1 ? 7 : d >= 1 ? 6 : 5)
                    : v == 2 ? 4 : v == 1 ? 3 : d >= 2 ? 2 : d;
            }
            ZcArray[orient * 512 + f] = (byte)ctx;
        }

        // Index bits: 0 W sign, 1 N significant, 2 E sign, 3 W significant, 4 N sign, 5 E significant, 6 S sign, 7 S significant.
        for (var lu = 0; lu < 256; lu++)
        {
            static int Contribution(int lu, int sigBit, int signBit) =>
                (lu >> sigBit & 1) == 0 ? 0 : (lu >> signBit & 1) == 0 ? 1 : -1;
            var h = Math.Clamp(Contribution(lu, 3, 0) + Contribution(lu, 5, 2), -1, 1);
            var v = Math.Clamp(Contribution(lu, 1, 4) + Contribution(lu, 7, 6), -1, 1);
            int ctx, xor = 0;
            if (h == 0 && v == 0) ctx = 9;
            else if (h == 0) { ctx = 10; xor = v < 0 ? 1 : 0; }
            else
            {
                ctx = v == h ? 13 : v == 0 ? 12 : 11;
                xor = h < 0 ? 1 : 0;
            }
            ScArray[lu] = (byte)(ctx | xor << 7);
        }

        Mq = (uint*)Unsafe.AsPointer(ref MqArray[0]);
        Zc = (byte*)Unsafe.AsPointer(ref ZcArray[0]);
        Sc = (byte*)Unsafe.AsPointer(ref ScArray[0]);
    }
}
