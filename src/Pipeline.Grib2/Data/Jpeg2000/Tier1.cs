using System.Runtime.CompilerServices;
using static Pipeline.Grib2.Data.Jpeg2000.Tier1Tables;


namespace Pipeline.Grib2.Data.Jpeg2000;

/// <summary>
/// EBCOT tier-1 decoder for one code-block: the MQ arithmetic decoder (or raw bits in bypass mode) driving the
/// significance propagation, magnitude refinement and cleanup passes, bit plane by bit plane.
/// <para>
/// State lives in one 32-bit word per column of a four-row stripe: bits 0-17 hold the significance of the 3x6
/// neighbourhood (rows -1..4, columns -1..1, bit (row + 1) * 3 + column + 1), and for row r of the stripe bit 19 + 3r
/// its sign, 20 + 3r "refined before", 21 + 3r "visited in this bit plane's significance pass"; bit 18 is the sign
/// of the row above the stripe, bit 31 (= 19 + 3 * 4) that of the row below. Shifting the word right by 3r puts row r's
/// 3x3 neighbourhood in bits 0-8, which indexes the zero-coding table directly.
/// </para>
/// Coefficients are kept, as OpenJPEG keeps them, with one extra fractional bit (value * 2, plus half a step where
/// bit planes are missing), so that the reconstruction of a truncated code-block is the same as OpenJPEG's.
/// </summary>
internal sealed unsafe class Tier1
{
    private const uint SigThis = 1u << 4, ChiThis = 1u << 19, MuThis = 1u << 20, PiThis = 1u << 21;
    private const uint Neighbours = 0x1EF; // the 3x3 neighbourhood without the centre
    private const uint PiAll = PiThis | PiThis << 3 | PiThis << 6 | PiThis << 9;
    private const uint SigAll = SigThis | SigThis << 3 | SigThis << 6 | SigThis << 9;

    public const int StyleBypass = 1, StyleReset = 2, StyleTermAll = 4, StyleVsc = 8, StylePterm = 16, StyleSegSym = 32;

    private uint[] flagsArray = GC.AllocateArray<uint>(66 * 18, pinned: true);
    private readonly int[] dataArray = GC.AllocateArray<int>(4096, pinned: true);
    private readonly uint[] ctxArray = GC.AllocateArray<uint>(Contexts, pinned: true);

    /// <summary>The decoded coefficients (times two), row-major with stride <see cref="Width"/>.</summary>
    public int* Data { get; private set; }

    public int Width { get; private set; }
    public int Height { get; private set; }

    /// <summary>One-row code-blocks of up to 64 samples on bit masks (the default), or on the flag words like the others (for specs).</summary>
    public bool RowMasks { get; init; } = true;

    private uint* flags;
    private uint* ctx; // each context's MQ table entry (Tier1Tables.Mq), not its state number: one load less per decision
    private int stride;

    /// <summary>
    /// MQ (or raw) decoder registers, copied into plain locals for each pass so that they stay in registers (a
    /// struct local the JIT kept on the stack once a pass grew). C is the standard's 32-bit C register moved up by 32
    /// bits: bits 48-63 are "C high", and below them up to 40 bits of the code stream are kept ready (Ct of them),
    /// inserted at the positions the standard's BYTEIN would put them when its counter runs out, so renormalising is
    /// one shift and the stream is touched once per byte.
    /// In raw (bypass) mode C holds the last byte read and Ct its unread bits.
    /// </summary>
    private struct Mq
    {
        public ulong C;
        public uint A;
        public int Ct;
        public byte* Bp; // the last byte consumed (the standard's B)
    }

    private Mq mq;

    public Tier1()
    {
        Data = (int*)Unsafe.AsPointer(ref dataArray[0]);
        ctx = (uint*)Unsafe.AsPointer(ref ctxArray[0]);
    }

    private void ResetContexts()
    {
        new Span<uint>(ctx, Contexts).Fill(Tier1Tables.Mq[0]);
        ctx[CtxUni] = Tier1Tables.Mq[46 * 2];
        ctx[CtxAgg] = Tier1Tables.Mq[3 * 2];
        ctx[0] = Tier1Tables.Mq[4 * 2];
    }

    private void Setup(int w, int h)
    {
        Width = w;
        Height = h;
        stride = w + 2;
        var stripes = (h + 3) >> 2;
        var size = stride * (stripes + 2);
        if (flagsArray.Length < size) flagsArray = GC.AllocateArray<uint>(size, pinned: true);
        flags = (uint*)Unsafe.AsPointer(ref flagsArray[0]);
        new Span<uint>(flags, size).Clear();
        new Span<int>(Data, w * h).Clear();
    }

    /// <summary>
    /// Decodes a code-block of <paramref name="w"/> x <paramref name="h"/> coefficients (w * h at most 4096) whose
    /// segments follow each other in <paramref name="data"/>; each segment must be followed by two writable bytes,
    /// which are set to 0xFF while it is decoded (the synthetic end marker) and restored after.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Decode(byte* data, ReadOnlySpan<int> segmentLengths, ReadOnlySpan<int> segmentPasses, int w, int h,
        int orient, int numbps, int roiShift, int style)
    {
        if (RowMasks && h == 1 && w is >= 1 and <= 64 && (style & StyleBypass) == 0)
        {
            DecodeRow(data, segmentLengths, segmentPasses, w, orient, numbps, roiShift, style);
            return;
        }
        Setup(w, h);
        ResetContexts();
        var zc = Zc + orient * 512;
        var vsc = (style & StyleVsc) != 0;
        var bpnoPlusOne = roiShift + numbps; // OpenJPEG's convention: one extra fractional bit
        var passType = 2;
        var offset = 0;
        for (var seg = 0; seg < segmentLengths.Length; seg++)
        {
            var len = segmentLengths[seg];
            var raw = bpnoPlusOne <= numbps - 4 && passType < 2 && (style & StyleBypass) != 0;
            var start = data + offset;
            byte save0 = start[len], save1 = start[len + 1];
            start[len] = 0xFF;
            start[len + 1] = 0xFF;
            if (raw)
            {
                mq = new Mq { C = 0, Ct = 0, Bp = start };
            }
            else
            {
                mq = new Mq { Bp = start, C = (ulong)start[0] << 48, Ct = 0 };
                ByteIn(ref mq);
                mq.C <<= 7;
                mq.Ct -= 7;
                mq.A = 0x8000;
                RefillSlow(ref mq);
            }
            for (var pass = 0; pass < segmentPasses[seg] && bpnoPlusOne >= 1; pass++)
            {
                switch (passType)
                {
                    case 0:
                        if (raw) SigPassRaw(bpnoPlusOne, vsc);
                        else if (h == 1) SigPassRow(zc, bpnoPlusOne, vsc);
                        else SigPass(zc, bpnoPlusOne, vsc);
                        break;
                    case 1:
                        if (raw) RefPassRaw(bpnoPlusOne);
                        else if (h == 1) RefPassRow(bpnoPlusOne);
                        else RefPass(bpnoPlusOne);
                        break;
                    default:
                        if (h == 1) CleanPassRow(zc, bpnoPlusOne, vsc);
                        else CleanPass(zc, bpnoPlusOne, vsc);
                        if ((style & StyleSegSym) != 0)
                        {
                            ulong c = mq.C;
                            uint a = mq.A;
                            int ct = mq.Ct;
                            var bp = mq.Bp;
                            for (var k = 0; k < 4; k++) DecodeLocals(ref c, ref a, ref ct, ref bp, ctx + CtxUni);
                            mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
                        }
                        break;
                }
                if ((style & StyleReset) != 0 && !raw) ResetContexts();
                if (++passType == 3)
                {
                    passType = 0;
                    bpnoPlusOne--;
                }
            }
            start[len] = save0;
            start[len + 1] = save1;
            offset += len;
        }
    }

    // One-row code-blocks of at most 64 samples (one-row images: NCEP and CMC write fields with a bitmap so): the
    // block's state in four 64-bit masks instead of flag words (significant, negative, refined before, visited in
    // this plane's significance pass). A pass visits its candidates by bit position, found with a few operations on
    // the masks, rather than testing every sample, and a newly significant sample sets two bits. The neighbourhood
    // of sample p: west bit p of (sig << 1), east bit p + 1 of sig.
    private ulong rowSig, rowNeg, rowMu, rowPi, rowValid;

    private void DecodeRow(byte* data, ReadOnlySpan<int> segmentLengths, ReadOnlySpan<int> segmentPasses, int w, int orient,
        int numbps, int roiShift, int style)
    {
        Width = w;
        Height = 1;
        new Span<int>(Data, w).Clear();
        ResetContexts();
        var zc = Zc + orient * 512;
        rowValid = ulong.MaxValue >> (64 - w);
        rowSig = rowNeg = rowMu = rowPi = 0;
        var bpno = roiShift + numbps;
        var passType = 2;
        var offset = 0;
        for (var seg = 0; seg < segmentLengths.Length; seg++)
        {
            var len = segmentLengths[seg];
            var start = data + offset;
            byte save0 = start[len], save1 = start[len + 1];
            start[len] = 0xFF;
            start[len + 1] = 0xFF;
            mq = new Mq { Bp = start, C = (ulong)start[0] << 48, Ct = 0 };
            ByteIn(ref mq);
            mq.C <<= 7;
            mq.Ct -= 7;
            mq.A = 0x8000;
            RefillSlow(ref mq);
            for (var pass = 0; pass < segmentPasses[seg] && bpno >= 1; pass++)
            {
                if (passType == 0) RowSigPass(zc, bpno);
                else if (passType == 1) RowRefPass(bpno);
                else
                {
                    RowCleanPass(zc, bpno);
                    if ((style & StyleSegSym) != 0)
                    {
                        ulong c = mq.C;
                        uint a = mq.A;
                        int ct = mq.Ct;
                        var bp = mq.Bp;
                        for (var k = 0; k < 4; k++) DecodeLocals(ref c, ref a, ref ct, ref bp, ctx + CtxUni);
                        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
                    }
                }
                if ((style & StyleReset) != 0) ResetContexts();
                if (++passType == 3)
                {
                    passType = 0;
                    bpno--;
                }
            }
            start[len] = save0;
            start[len + 1] = save1;
            offset += len;
        }
    }

    /// <summary>
    /// Significance on a one-row block: insignificant samples with a significant neighbour, and the east neighbour
    /// of each sample that becomes significant on the way.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RowSigPass(byte* zc, int bpno)
    {
        ulong sig = rowSig, valid = rowValid;
        var todo = (sig << 1 | sig >> 1) & ~sig & valid;
        if (todo == 0) return;
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var dp = Data;
        ulong neg = rowNeg, pi = 0;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        do
        {
            var p = System.Numerics.BitOperations.TrailingZeroCount(todo);
            var bit = 1UL << p;
            todo ^= bit;
            pi |= bit;
            var x = ((uint)((sig << 1) >> p) & 1) << 3 | ((uint)(sig >> p) & 2) << 4; // the zero-coding index: bit 3 west, 5 east
            if (DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + zc[x]) != 0)
            {
                var e = Sc[x | ((uint)((neg << 1) >> p) & 1) | ((uint)(neg >> p) & 2) << 1];
                var v = DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + (e & 0x7F)) ^ (uint)(e >> 7);
                dp[p] = v != 0 ? -oneplushalf : oneplushalf;
                sig |= bit;
                neg |= (ulong)v << p;
                todo |= (bit << 1) & ~sig & valid;
            }
        } while (todo != 0);
        rowSig = sig;
        rowNeg = neg;
        rowPi = pi;
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    /// <summary>Refinement on a one-row block: samples significant before this plane; those refined before in one held context.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RowRefPass(int bpno)
    {
        var sig = rowSig;
        var todo = sig & ~rowPi;
        if (todo == 0) return;
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var dp = Data;
        var held = cxb[CtxMag + 2];
        var poshalf = (1 << bpno) >> 1;
        var nb = sig << 1 | sig >> 1;
        var refined = rowMu;
        rowMu = refined | todo;
        do
        {
            var p = System.Numerics.BitOperations.TrailingZeroCount(todo);
            todo &= todo - 1;
            uint v;
            if ((refined >> p & 1) != 0) v = DecodeHeld(ref c, ref a, ref ct, ref bp, ref held);
            else v = DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + CtxMag + (int)(nb >> p & 1));
            var d = dp + p;
            var x = *d;
            var n = (int)(v ^ (uint)(x >>> 31)) - 1; // 0: away from zero, -1: towards it
            *d = x + ((poshalf ^ n) - n);
        } while (todo != 0);
        cxb[CtxMag + 2] = held;
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    /// <summary>Cleanup on a one-row block: every sample neither significant nor visited (no run-length mode on one row).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RowCleanPass(byte* zc, int bpno)
    {
        ulong sig = rowSig;
        var todo = ~(sig | rowPi) & rowValid;
        rowPi = 0;
        if (todo == 0) return;
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var dp = Data;
        var neg = rowNeg;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        var cx0 = cxb + zc[0]; // the context of samples with no significant neighbour
        do
        {
            var p = System.Numerics.BitOperations.TrailingZeroCount(todo);
            var x = ((uint)((sig << 1) >> p) & 1) << 3 | ((uint)(sig >> p) & 2) << 4;
            if (x == 0)
            {
                // A run of samples with no significant neighbour: all in one context. While its MPS is "not
                // significant" and neither C nor A would need more than the subtraction of Qe (no renormalisation,
                // so no state change), each is an MPS decision: as many as that allows decided in one division.
                var e = *cx0;
                var run = System.Numerics.BitOperations.TrailingZeroCount(~((todo & ~(sig << 1 | sig >> 1)) >> p));
                if (run > 1 && (int)e >= 0)
                {
                    var qe = e & 0xFFFF;
                    var k = (int)(Math.Min(a - 0x8000, (uint)(c >> 48)) / qe);
                    if (k > 0)
                    {
                        k = Math.Min(k, run);
                        var kq = (uint)k * qe;
                        a -= kq;
                        c -= (ulong)kq << 48;
                        todo &= ~((ulong.MaxValue >> (64 - k)) << p);
                        continue;
                    }
                }
            }
            todo &= todo - 1;
            if (DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + zc[x]) != 0)
            {
                var e = Sc[x | ((uint)((neg << 1) >> p) & 1) | ((uint)(neg >> p) & 2) << 1];
                var v = DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + (e & 0x7F)) ^ (uint)(e >> 7);
                dp[p] = v != 0 ? -oneplushalf : oneplushalf;
                sig |= 1UL << p;
                neg |= (ulong)v << p;
            }
        } while (todo != 0);
        rowSig = sig;
        rowNeg = neg;
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    /// <summary>The standard's BYTEIN, inserting the next byte below the Ct bits already there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ByteIn(ref Mq m)
    {
        if (m.Bp[0] == 0xFF)
        {
            if (m.Bp[1] > 0x8F)
            {
                m.C += 0xFFUL << (40 - m.Ct); // a marker (or the synthetic end): ones, and stay
                m.Ct += 8;
            }
            else
            {
                m.Bp++;
                m.C += (ulong)m.Bp[0] << (41 - m.Ct); // 7 bits after 0xFF, the top one a carry
                m.Ct += 7;
            }
        }
        else
        {
            m.Bp++;
            m.C += (ulong)m.Bp[0] << (40 - m.Ct);
            m.Ct += 8;
        }
    }

    /// <summary>
    /// Tops up the code register once <see cref="Mq.Ct"/> is down to 32 bits: two plain bytes in one go when
    /// neither the last byte nor the next is 0xFF (no bit stuffing, no marker), byte by byte otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RefillSlow(ref Mq m)
    {
        while (m.Ct <= 32) ByteIn(ref m);
    }

    private static uint RawBit(ref Mq m)
    {
        if (m.Ct == 0)
        {
            if (m.C == 0xFF)
            {
                if (*m.Bp > 0x8F)
                {
                    m.C = 0xFF;
                    m.Ct = 8;
                }
                else
                {
                    m.C = *m.Bp++;
                    m.Ct = 7;
                }
            }
            else
            {
                m.C = *m.Bp++;
                m.Ct = 8;
            }
        }
        m.Ct--;
        return (uint)(m.C >> m.Ct) & 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SignIndex(uint f, uint west, uint east, int ci)
    {
        var sh = 3 * ci;
        var lu = (f >> sh) & 0xAA;
        lu |= (west >> (19 + sh)) & 1;
        lu |= (east >> (17 + sh)) & 4;
        lu |= ci == 0 ? (f >> 14) & 16 : (f >> (12 + sh)) & 16;
        lu |= (f >> (16 + sh)) & 64;
        return lu;
    }

    /// <summary>Marks row <paramref name="ci"/> of the column at <paramref name="fp"/> significant with sign <paramref name="s"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(int stride, ref uint f, uint* fp, int ci, uint s, bool vsc)
    {
        var sh = 3 * ci;
        fp[-1] |= (1u << 5) << sh;
        f |= (s << 19 | SigThis) << sh;
        fp[1] |= (1u << 3) << sh;
        if (ci == 0 && !vsc)
        {
            var north = fp - stride;
            north[0] |= s << 31 | 1u << 16;
            north[-1] |= 1u << 17;
            north[1] |= 1u << 15;
        }
        if (ci == 3)
        {
            var south = fp + stride;
            south[0] |= s << 18 | 1u << 1;
            south[-1] |= 1u << 2;
            south[1] |= 1u << 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SigStep(uint* cx0, int fstride, ref ulong c, ref uint a, ref int ct, ref byte* bp, ref uint f, uint* fp, int* dp, byte* zc, int ci, int oneplushalf, bool vsc)
    {
        var sh = 3 * ci;
        if ((f & ((SigThis | PiThis) << sh)) == 0 && (f & (Neighbours << sh)) != 0)
        {
            if (DecodeLocals(ref c, ref a, ref ct, ref bp, cx0 + zc[(f >> sh) & 0x1FF]) != 0)
            {
                var lu = SignIndex(f, fp[-1], fp[1], ci);
                var sc = Sc[lu];
                var v = DecodeLocals(ref c, ref a, ref ct, ref bp, cx0 + (sc & 0x7F)) ^ (uint)(sc >> 7);
                *dp = v != 0 ? -oneplushalf : oneplushalf;
                Update(fstride, ref f, fp, ci, v, vsc && ci == 0);
            }
            f |= PiThis << sh;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void SigPass(byte* zc, int bpno, bool vsc)
    {
        if (vsc) SigPassBody(zc, bpno, true);
        else SigPassBody(zc, bpno, false);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SigPassBody(byte* zc, int bpno, bool vsc)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var fstride = stride;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        int w = Width, h = Height;
        var fp = flags + stride + 1;
        var dp = Data;
        int k;
        for (k = 0; k + 4 <= h; k += 4, fp += 2, dp += 3 * w)
        {
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                // Nothing to do where the column is empty, or every row is significant already (most columns of
                // the lower bit planes): one test instead of four.
                if (f == 0 || (~(f | f >> 17) & SigAll) == 0) continue;
                SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc);
                SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + w, zc, 1, oneplushalf, false);
                SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + 2 * w, zc, 2, oneplushalf, false);
                SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + 3 * w, zc, 3, oneplushalf, false);
                *fp = f;
            }
        }
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
        if (k < h) SigPassTail(zc, oneplushalf, fp, dp, h - k, vsc);
    }

    /// <summary>
    /// The last stripe of the significance pass when it has fewer than four rows (all of a one-row code-block), in a
    /// method of its own so that its loop gets the registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void SigPassTail(byte* zc, int oneplushalf, uint* fp, int* dp, int rows, bool vsc)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var fstride = stride;
        var w = Width;
        if (rows == 1)
        {
            for (var end = fp + w; fp < end; fp++, dp++)
            {
                var f = *fp;
                if ((f & (SigThis | PiThis)) != 0 || (f & Neighbours) == 0) continue;
                SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc);
                *fp = f;
            }
        }
        else
        {
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                if (f == 0) continue;
                for (var j = 0; j < rows; j++) SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + j * w, zc, j, oneplushalf, vsc);
                *fp = f;
            }
        }
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    /// <summary>
    /// The standard's BYTEIN on the decoder registers held in locals (see <see cref="Mq"/>), until more than 32
    /// bits are ready.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RefillLocals(ref ulong c, ref int ct, ref byte* bp)
    {
        do
        {
            if (bp[0] == 0xFF)
            {
                if (bp[1] > 0x8F)
                {
                    c += 0xFFUL << (40 - ct);
                    ct += 8;
                }
                else
                {
                    bp++;
                    c += (ulong)bp[0] << (41 - ct);
                    ct += 7;
                }
            }
            else
            {
                bp++;
                c += (ulong)bp[0] << (40 - ct);
                ct += 8;
            }
        } while (ct <= 32);
    }

    /// <summary>
    /// One MQ decision in context <paramref name="cx"/> (ISO 15444-1 C.3.2) on the decoder registers a pass holds in
    /// locals (see <see cref="Mq"/>). The common case (MPS, no renormalisation) is a compare and a subtract;
    /// renormalising is one shift by the leading zeros of A.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint DecodeLocals(ref ulong c, ref uint a, ref int ct, ref byte* bp, uint* cx)
    {
        var e = *cx;
        var qe = e & 0xFFFF;
        var an = a - qe;
        uint d;
        if ((uint)(c >> 48) < qe)
        {
            if (an < qe)
            {
                d = e >> 31;
                *cx = Tier1Tables.Mq[e >> 16 & 0x7F];
            }
            else
            {
                d = (e >> 31) ^ 1;
                *cx = Tier1Tables.Mq[e >> 23 & 0x7F];
            }
            an = qe;
        }
        else
        {
            c -= (ulong)qe << 48;
            if (an >= 0x8000)
            {
                a = an;
                return e >> 31;
            }
            if (an < qe)
            {
                d = (e >> 31) ^ 1;
                *cx = Tier1Tables.Mq[e >> 23 & 0x7F];
            }
            else
            {
                d = e >> 31;
                *cx = Tier1Tables.Mq[e >> 16 & 0x7F];
            }
        }
        var sh = System.Numerics.BitOperations.LeadingZeroCount(an) - 16;
        a = an << sh;
        c <<= sh;
        ct -= sh;
        if (ct <= 32) RefillLocals(ref c, ref ct, ref bp);
        return d;
    }

    /// <summary>
    /// One MQ decision in a context whose table entry the caller holds in a local (<paramref name="e"/>), with no
    /// branch on the outcome: the interval exchange, the next state and the renormalisation are selected with masks.
    /// For the refinement bits of the lower bit planes, close to random and nearly all in one context, a
    /// mispredicted branch and the store and reload of the context's state cost more than the extra work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint DecodeHeld(ref ulong c, ref uint a, ref int ct, ref byte* bp, ref uint e)
    {
        var s = e;
        var qe = s & 0xFFFF;
        var a2 = a - qe;
        var qs = (ulong)qe << 48;
        var lps = c < qs ? 1u : 0u;
        var exchange = a2 < qe ? 1u : 0u;
        var lpsMask = 0u - lps;
        var an = a2 ^ ((a2 ^ qe) & lpsMask);
        c -= qs & ((ulong)lps - 1);
        var flip = lps ^ exchange;
        var next = Tier1Tables.Mq[(s >> (int)(16 + 7 * flip)) & 0x7F];
        var renormMask = 0u - (an < 0x8000 ? 1u : 0u);
        e = s ^ ((s ^ next) & renormMask);
        var sh = System.Numerics.BitOperations.LeadingZeroCount(an) - 16;
        a = an << sh;
        c <<= sh;
        ct -= sh;
        if (ct <= 32) RefillLocals(ref c, ref ct, ref bp);
        return (s >> 31) ^ flip;
    }

    /// <summary>
    /// Magnitude refinement: every sample significant before this bit plane (significant, not newly so in this
    /// plane's significance pass) gets one bit. The candidates of a column come out of its flag word in one mask and
    /// are visited by their bit positions; the context of samples refined before (nearly all of them in the lower
    /// planes) stays in a register for the whole pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RefPass(int bpno)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var held = cxb[CtxMag + 2];
        var poshalf = (1 << bpno) >> 1;
        int w = Width, h = Height;
        var fp = flags + stride + 1;
        var dp = Data;
        // Row offset in the data by the position of the row's significance bit (4 + 3r).
        var rowOffset = stackalloc int[16];
        for (var r = 0; r < 4; r++) rowOffset[4 + 3 * r] = r * w;
        for (var k = 0; k < h; k += 4, fp += 2, dp += 3 * w)
        {
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                var todo = f & SigAll & ~(f >> 17); // significant, not visited in this plane's significance pass
                if (todo == 0) continue;
                *fp = f | todo << 16; // refined (mu) from now on
                do
                {
                    var pos = System.Numerics.BitOperations.TrailingZeroCount(todo);
                    todo &= todo - 1;
                    var fs = f >> (pos - 4);
                    uint v;
                    if ((fs & MuThis) != 0) v = DecodeHeld(ref c, ref a, ref ct, ref bp, ref held);
                    else v = DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + ((fs & Neighbours) != 0 ? CtxMag + 1 : CtxMag));
                    var d = dp + rowOffset[pos];
                    var x = *d;
                    var neg = (int)(v ^ (uint)(x >>> 31)) - 1; // 0: away from zero, -1: towards it
                    *d = x + ((poshalf ^ neg) - neg);
                } while (todo != 0);
            }
        }
        cxb[CtxMag + 2] = held;
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    /// <summary>Cleanup step: zero coding (unless <paramref name="known"/>, the run-length position) and sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CleanStep(uint* cx0, int fstride, ref ulong c, ref uint a, ref int ct, ref byte* bp, ref uint f, uint* fp, int* dp, byte* zc, int ci, int oneplushalf, bool vsc, bool known)
    {
        var sh = 3 * ci;
        if (!known && DecodeLocals(ref c, ref a, ref ct, ref bp, cx0 + zc[(f >> sh) & 0x1FF]) == 0) return;
        var lu = SignIndex(f, fp[-1], fp[1], ci);
        var sc = Sc[lu];
        var v = DecodeLocals(ref c, ref a, ref ct, ref bp, cx0 + (sc & 0x7F)) ^ (uint)(sc >> 7);
        *dp = v != 0 ? -oneplushalf : oneplushalf;
        Update(fstride, ref f, fp, ci, v, vsc && ci == 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void CleanPass(byte* zc, int bpno, bool vsc)
    {
        if (vsc) CleanPassBody(zc, bpno, true);
        else CleanPassBody(zc, bpno, false);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CleanPassBody(byte* zc, int bpno, bool vsc)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var fstride = stride;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        int w = Width, h = Height;
        var fp = flags + stride + 1;
        var dp = Data;
        int k;
        for (k = 0; k + 4 <= h; k += 4, fp += 2, dp += 3 * w)
        {
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                if ((~(f | f >> 17) & SigAll) == 0) // every row significant or visited: nothing to decode
                {
                    *fp = f & ~PiAll;
                    continue;
                }
                var first = 0; // the rows above it are settled by run-length decoding
                if (f == 0)
                {
                    // Columns in run-length mode one after the other: while the aggregation context's MPS is "nothing
                    // significant" and A and C allow MPS decisions without renormalisation (no state change), as
                    // many columns as that covers are decided in one division.
                    var e = cxb[CtxAgg];
                    if ((int)e >= 0 && i + 1 < w && fp[1] == 0)
                    {
                        var qe = e & 0xFFFF;
                        var most = (int)(Math.Min(a - 0x8000, (uint)(c >> 48)) / qe);
                        if (most > 1)
                        {
                            var n = 2;
                            most = Math.Min(most, w - i);
                            while (n < most && fp[n] == 0) n++;
                            var nq = (uint)n * qe;
                            a -= nq;
                            c -= (ulong)nq << 48;
                            i += n - 1;
                            fp += n - 1;
                            dp += n - 1;
                            continue;
                        }
                    }
                    if (DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + CtxAgg) == 0) continue;
                    var runlen = (int)(DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + CtxUni) << 1);
                    runlen |= (int)DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + CtxUni);
                    switch (runlen) // the first significant row: its sign only
                    {
                        case 0:
                            CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc, true);
                            break;
                        case 1:
                            CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + w, zc, 1, oneplushalf, vsc, true);
                            break;
                        case 2:
                            CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + 2 * w, zc, 2, oneplushalf, vsc, true);
                            break;
                        default:
                            CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + 3 * w, zc, 3, oneplushalf, vsc, true);
                            break;
                    }
                    first = runlen + 1;
                }
                // One call site per row (with the run-length ones, 8 in all): more and the JIT stops inlining the
                // step, which puts the decoder registers on the stack.
                if (first <= 0 && (f & (SigThis | PiThis)) == 0) CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc, false);
                if (first <= 1 && (f & ((SigThis | PiThis) << 3)) == 0) CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + w, zc, 1, oneplushalf, vsc, false);
                if (first <= 2 && (f & ((SigThis | PiThis) << 6)) == 0) CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + 2 * w, zc, 2, oneplushalf, vsc, false);
                if (first <= 3 && (f & ((SigThis | PiThis) << 9)) == 0) CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + 3 * w, zc, 3, oneplushalf, vsc, false);
                *fp = f & ~PiAll;
            }
        }
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
        if (k < h) CleanPassTail(zc, oneplushalf, fp, dp, h - k, vsc);
    }

    /// <summary>The last stripe of the cleanup pass when it has fewer than four rows (no run-length mode).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void CleanPassTail(byte* zc, int oneplushalf, uint* fp, int* dp, int rows, bool vsc)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var fstride = stride;
        var w = Width;
        if (rows == 1)
        {
            for (var end = fp + w; fp < end; fp++, dp++)
            {
                var f = *fp;
                if ((f & (SigThis | PiThis)) == 0) CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc, false);
                *fp = f & ~PiThis;
            }
        }
        else
        {
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                for (var j = 0; j < rows; j++)
                    if ((f & ((SigThis | PiThis) << (3 * j))) == 0)
                        CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp + j * w, zc, j, oneplushalf, vsc, false);
                *fp = f & ~PiAll;
            }
        }
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    // One-row code-blocks (one-row images, as NCEP and CMC write fields with a bitmap): each pass is one loop over
    // the row, with no stripes and no tail.

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void SigPassRow(byte* zc, int bpno, bool vsc)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var fstride = stride;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        var fp = flags + fstride + 1;
        var dp = Data;
        for (var end = fp + Width; fp < end; fp++, dp++)
        {
            var f = *fp;
            if ((f & (SigThis | PiThis)) != 0 || (f & Neighbours) == 0) continue;
            SigStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc);
            *fp = f;
        }
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RefPassRow(int bpno)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var held = cxb[CtxMag + 2];
        var poshalf = (1 << bpno) >> 1;
        var fp = flags + stride + 1;
        var dp = Data;
        for (var end = fp + Width; fp < end; fp++, dp++)
        {
            var f = *fp;
            if ((f & (SigThis | PiThis)) != SigThis) continue;
            uint v;
            if ((f & MuThis) != 0) v = DecodeHeld(ref c, ref a, ref ct, ref bp, ref held);
            else v = DecodeLocals(ref c, ref a, ref ct, ref bp, cxb + ((f & Neighbours) != 0 ? CtxMag + 1 : CtxMag));
            var x = *dp;
            var neg = (int)(v ^ (uint)(x >>> 31)) - 1;
            *dp = x + ((poshalf ^ neg) - neg);
            *fp = f | MuThis;
        }
        cxb[CtxMag + 2] = held;
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void CleanPassRow(byte* zc, int bpno, bool vsc)
    {
        ulong c = mq.C;
        uint a = mq.A;
        int ct = mq.Ct;
        var bp = mq.Bp;
        var cxb = ctx;
        var fstride = stride;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        var fp = flags + fstride + 1;
        var dp = Data;
        for (var end = fp + Width; fp < end; fp++, dp++)
        {
            var f = *fp;
            if ((f & (SigThis | PiThis)) == 0) CleanStep(cxb, fstride, ref c, ref a, ref ct, ref bp, ref f, fp, dp, zc, 0, oneplushalf, vsc, false);
            *fp = f & ~PiThis;
        }
        mq = new Mq { C = c, A = a, Ct = ct, Bp = bp };
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void SigPassRaw(int bpno, bool vsc)
    {
        var m = mq;
        var cxb = ctx;
        var fstride = stride;
        var one = 1 << bpno;
        var oneplushalf = one | (one >> 1);
        int w = Width, h = Height;
        var fp = flags + stride + 1;
        var dp = Data;
        for (var k = 0; k < h; k += 4, fp += 2, dp += 3 * w)
        {
            var rows = Math.Min(4, h - k);
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                if (f == 0) continue;
                for (var ci = 0; ci < rows; ci++)
                {
                    var sh = 3 * ci;
                    if ((f & ((SigThis | PiThis) << sh)) != 0 || (f & (Neighbours << sh)) == 0) continue;
                    if (RawBit(ref m) != 0)
                    {
                        var v = RawBit(ref m);
                        dp[ci * w] = v != 0 ? -oneplushalf : oneplushalf;
                        Update(fstride, ref f, fp, ci, v, vsc && ci == 0);
                    }
                    f |= PiThis << sh;
                }
                *fp = f;
            }
            if (rows < 4) break;
        }
        mq = m;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void RefPassRaw(int bpno)
    {
        var m = mq;
        var cxb = ctx;
        var fstride = stride;
        var poshalf = (1 << bpno) >> 1;
        int w = Width, h = Height;
        var fp = flags + stride + 1;
        var dp = Data;
        for (var k = 0; k < h; k += 4, fp += 2, dp += 3 * w)
        {
            var rows = Math.Min(4, h - k);
            for (var i = 0; i < w; i++, fp++, dp++)
            {
                var f = *fp;
                if ((f & SigAll) == 0) continue;
                for (var ci = 0; ci < rows; ci++)
                {
                    var sh = 3 * ci;
                    if ((f & ((SigThis | PiThis) << sh)) != SigThis << sh) continue;
                    var v = RawBit(ref m);
                    var d = dp[ci * w];
                    dp[ci * w] = d + ((v ^ (uint)(d >>> 31)) != 0 ? poshalf : -poshalf);
                    f |= MuThis << sh;
                }
                *fp = f;
            }
            if (rows < 4) break;
        }
        mq = m;
    }
}
