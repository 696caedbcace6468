using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Pipeline.Grib2.Data.Jpeg2000;

/// <summary>
/// Inverse discrete wavelet transforms by lifting, on a tile buffer in OpenJPEG's layout (each resolution's low band
/// top-left, the high bands right of and below it): reversible 5/3 on integers and irreversible 9/7 on floats, rows
/// first, then columns, each level from the coarsest. The 9/7 repeats OpenJPEG's float operations in the same order
/// (its constants, its factor two folded into the high-pass scaling, no fused multiply-add) so that the rounded
/// samples are the ones OpenJPEG gives. Columns are lifted a whole row at a time, several samples per instruction.
/// The Vector256 loops are compiled optimized at first call (AggressiveOptimization): ReadyToRun's x86-64-v2 build of
/// them is refused on an AVX2 machine, and Tier0 code ran a fresh process's first field at a third of the speed.
/// </summary>
internal static unsafe class Dwt
{
    private const float K = 1.230174104914001f, TwoInvK = 1.625732422f;
    private const float Alpha = -1.586134342f, Beta = -0.052980118f, Gamma = 0.882911075f, Delta = 0.443506852f;

    /// <summary>One level: the region <paramref name="rw"/> x <paramref name="rh"/> of <paramref name="buf"/> (row stride
    /// <paramref name="stride"/>), whose low band is <paramref name="lw"/> x <paramref name="lh"/>; casX/casY are the parities
    /// of the resolution's origin.</summary>
    public static void Inverse53(int* buf, int stride, int rw, int rh, int lw, int lh, int casX, int casY, int* tmp, int block)
    {
        if (rw > 0)
            for (var j = 0; j < rh; j++)
            {
                var row = buf + (long)j * stride;
                Lift53Row(row, lw, rw - lw, casX, tmp);
            }
        if (rh > 1 || casY == 1)
            for (var x = 0; x < rw; x += block)
                Lift53Columns(buf + x, stride, Math.Min(block, rw - x), lh, rh - lh, casY, tmp);
    }

    /// <summary>
    /// 1-D inverse 5/3 of the samples at <paramref name="x"/>: sn low then dn high, result interleaved in place. Both
    /// lifting steps in one sweep (each new low sample completes the high one before it), the mirrored ends outside
    /// the loop; with one component's geometry sn and dn differ by at most one.
    /// </summary>
    private static void Lift53Row(int* x, int sn, int dn, int cas, int* tmp)
    {
        var n = sn + dn;
        if (cas == 0)
        {
            if (dn == 0) return; // a single low sample (sn <= 1) or nothing
            var l = tmp;
            var h = tmp + sn;
            new ReadOnlySpan<int>(x, n).CopyTo(new Span<int>(tmp, n));
            // Even samples: L[i] - floor((H[i-1] + H[i] + 2) / 4); odd: H[i] + floor((X[2i] + X[2i+2]) / 2); H and X
            // mirrored at the ends.
            var e0 = l[0] - ((h[0] + h[0] + 2) >> 2);
            x[0] = e0;
            var i = 0;
            for (; i + 1 < sn && i + 1 < dn; i++)
            {
                var e1 = l[i + 1] - ((h[i] + h[i + 1] + 2) >> 2);
                x[2 * i + 1] = h[i] + ((e0 + e1) >> 1);
                x[2 * i + 2] = e1;
                e0 = e1;
            }
            if (i + 1 < sn) // sn = dn + 1: the last even sample mirrors H
            {
                var e1 = l[i + 1] - ((h[i] + h[i] + 2) >> 2);
                x[2 * i + 1] = h[i] + ((e0 + e1) >> 1);
                x[2 * i + 2] = e1;
            }
            else if (i < dn) x[2 * i + 1] = h[i] + ((e0 + e0) >> 1); // sn = dn: the last odd sample mirrors X
        }
        else
        {
            if (sn == 0 && dn == 1)
            {
                x[0] /= 2;
                return;
            }
            if (n == 0) return;
            var l = tmp;
            var h = tmp + sn;
            new ReadOnlySpan<int>(x, n).CopyTo(new Span<int>(tmp, n));
            // Low samples at odd positions: L[i] - floor((H[i] + H[i+1] + 2) / 4); high at even positions:
            // H[i] + floor((X[2i-1] + X[2i+1]) / 2); H and X mirrored at the ends.
            var o0 = l[0] - ((h[0] + h[1 < dn ? 1 : dn - 1] + 2) >> 2);
            x[1] = o0;
            x[0] = h[0] + ((o0 + o0) >> 1);
            var i = 1;
            for (; i < sn && i + 1 < dn; i++)
            {
                var o1 = l[i] - ((h[i] + h[i + 1] + 2) >> 2);
                x[2 * i + 1] = o1;
                x[2 * i] = h[i] + ((o0 + o1) >> 1);
                o0 = o1;
            }
            if (i < sn) // dn = sn: the last low sample mirrors H
            {
                var o1 = l[i] - ((h[i] + h[i] + 2) >> 2);
                x[2 * i + 1] = o1;
                x[2 * i] = h[i] + ((o0 + o1) >> 1);
            }
            else if (i < dn) x[2 * i] = h[i] + ((o0 + o0) >> 1); // dn = sn + 1: the last high sample mirrors X
        }
    }

    /// <summary>Vertical inverse 5/3 on whole rows: rows 0..sn-1 low, sn..sn+dn-1 high, interleaved into place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Vector256: see Dwt
    private static void Lift53Columns(int* buf, int stride, int w, int sn, int dn, int cas, int* tmp)
    {
        var n = sn + dn;
        if (w == 0 || n == 0) return;
        if (cas == 0 && dn == 0) return;
        if (cas == 1 && sn == 0 && dn == 1)
        {
            for (var i = 0; i < w; i++) buf[i] /= 2;
            return;
        }
        // Output rows are built in tmp (n rows of w), then copied back.
        int* L(int i) => buf + (long)i * stride;
        int* H(int i) => buf + (long)(sn + i) * stride;
        int* X(int i) => tmp + (long)i * w;
        if (cas == 0)
        {
            for (var i = 0; i < sn; i++)
            {
                var hp = H(i > 0 ? i - 1 : 0);
                var hn = H(i < dn ? i : dn - 1);
                SubQuarter(X(2 * i), L(i), hp, hn, w);
            }
            for (var i = 0; i < dn; i++)
                AddHalf(X(2 * i + 1), H(i), X(2 * i), X(2 * i + 2 < n ? 2 * i + 2 : 2 * i), w);
        }
        else
        {
            for (var i = 0; i < sn; i++)
                SubQuarter(X(2 * i + 1), L(i), H(i), H(i + 1 < dn ? i + 1 : dn - 1), w);
            for (var i = 0; i < dn; i++)
                AddHalf(X(2 * i), H(i), X(i > 0 ? 2 * i - 1 : 1), X(2 * i + 1 < n ? 2 * i + 1 : 2 * i - 1), w);
        }
        for (var r = 0; r < n; r++)
            new ReadOnlySpan<int>(X(r), w).CopyTo(new Span<int>(buf + (long)r * stride, w));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubQuarter(int* dst, int* l, int* h0, int* h1, int w)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var two = Vector256.Create(2);
            for (; i <= w - 8; i += 8)
                Vector256.Store(Vector256.Load(l + i) - Vector256.ShiftRightArithmetic(Vector256.Load(h0 + i) + Vector256.Load(h1 + i) + two, 2), dst + i);
        }
        for (; i < w; i++) dst[i] = l[i] - ((h0[i] + h1[i] + 2) >> 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddHalf(int* dst, int* h, int* x0, int* x1, int w)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= w - 8; i += 8)
                Vector256.Store(Vector256.Load(h + i) + Vector256.ShiftRightArithmetic(Vector256.Load(x0 + i) + Vector256.Load(x1 + i), 1), dst + i);
        for (; i < w; i++) dst[i] = h[i] + ((x0[i] + x1[i]) >> 1);
    }

    // ---- 9/7 ----

    public static void Inverse97(float* buf, int stride, int rw, int rh, int lw, int lh, int casX, int casY, float* tmp, int block)
    {
        for (var j = 0; j < rh; j++)
        {
            var row = buf + (long)j * stride;
            var n = rw;
            new ReadOnlySpan<float>(row, n).CopyTo(new Span<float>(tmp, n));
            // Interleave into row: low at parity casX.
            for (var i = 0; i < lw; i++) row[2 * i + casX] = tmp[i];
            for (var i = 0; i < rw - lw; i++) row[2 * i + 1 - casX] = tmp[lw + i];
            Lift97(row, 1, lw, rw - lw, casX);
        }
        for (var x = 0; x < rw; x += block)
            Lift97Columns(buf + x, stride, Math.Min(block, rw - x), lh, rh - lh, casY, tmp);
    }

    /// <summary>OpenJPEG's 1-D inverse 9/7 on interleaved samples w[0], w[step], ... (sn low, dn high).</summary>
    private static void Lift97(float* w, int step, int sn, int dn, int cas)
    {
        int a, b;
        if (cas == 0)
        {
            if (!(dn > 0 || sn > 1)) return;
            a = 0;
            b = 1;
        }
        else
        {
            if (!(sn > 0 || dn > 1)) return;
            a = 1;
            b = 0;
        }
        for (var i = 0; i < sn; i++) w[(a + 2 * i) * step] *= K;
        for (var i = 0; i < dn; i++) w[(b + 2 * i) * step] *= TwoInvK;
        Step2(w, step, b, a + 1, sn, Math.Min(sn, dn - a), -Delta);
        Step2(w, step, a, b + 1, dn, Math.Min(dn, sn - b), -Gamma);
        Step2(w, step, b, a + 1, sn, Math.Min(sn, dn - a), -Beta);
        Step2(w, step, a, b + 1, dn, Math.Min(dn, sn - b), -Alpha);
    }

    /// <summary>fw[-1] += (fl[0] + fw[0]) * c along the samples, then the mirrored end: fw[-1] += fl[0] * 2c.</summary>
    private static void Step2(float* w, int step, int lIndex, int wIndex, int end, int m, float c)
    {
        var fl = lIndex;
        var fw = wIndex;
        var imax = Math.Min(end, m);
        for (var i = 0; i < imax; i++)
        {
            w[(fw - 1) * step] = w[(fw - 1) * step] + (w[fl * step] + w[fw * step]) * c;
            fl = fw;
            fw += 2;
        }
        if (m < end)
        {
            var c2 = c + c;
            w[(fw - 1) * step] = w[(fw - 1) * step] + w[fl * step] * c2;
        }
    }

    /// <summary>The vertical 9/7 on whole rows, the same operations per column as <see cref="Lift97"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Vector256: see Dwt
    private static void Lift97Columns(float* buf, int stride, int w, int sn, int dn, int cas, float* tmp)
    {
        var n = sn + dn;
        if (w == 0 || n == 0) return;
        int a, b;
        if (cas == 0)
        {
            if (!(dn > 0 || sn > 1)) return;
            a = 0;
            b = 1;
        }
        else
        {
            if (!(sn > 0 || dn > 1)) return;
            a = 1;
            b = 0;
        }
        // Interleave the rows into tmp (n rows of w), lift there, copy back.
        float* X(int r) => tmp + (long)r * w;
        for (var i = 0; i < sn; i++) new ReadOnlySpan<float>(buf + (long)i * stride, w).CopyTo(new Span<float>(X(2 * i + a), w));
        for (var i = 0; i < dn; i++) new ReadOnlySpan<float>(buf + (long)(sn + i) * stride, w).CopyTo(new Span<float>(X(2 * i + b), w));
        for (var i = 0; i < sn; i++) Scale(X(a + 2 * i), K, w);
        for (var i = 0; i < dn; i++) Scale(X(b + 2 * i), TwoInvK, w);
        Step2Rows(tmp, w, b, a + 1, sn, Math.Min(sn, dn - a), -Delta);
        Step2Rows(tmp, w, a, b + 1, dn, Math.Min(dn, sn - b), -Gamma);
        Step2Rows(tmp, w, b, a + 1, sn, Math.Min(sn, dn - a), -Beta);
        Step2Rows(tmp, w, a, b + 1, dn, Math.Min(dn, sn - b), -Alpha);
        for (var r = 0; r < n; r++)
            new ReadOnlySpan<float>(X(r), w).CopyTo(new Span<float>(buf + (long)r * stride, w));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Vector256: see Dwt
    private static void Scale(float* x, float k, int w)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vk = Vector256.Create(k);
            for (; i <= w - 8; i += 8) Vector256.Store(Vector256.Load(x + i) * vk, x + i);
        }
        for (; i < w; i++) x[i] *= k;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Vector256: see Dwt
    private static void Step2Rows(float* t, int w, int lIndex, int wIndex, int end, int m, float c)
    {
        var fl = lIndex;
        var fw = wIndex;
        var imax = Math.Min(end, m);
        for (var i = 0; i < imax; i++)
        {
            AddScaled(t + (long)(fw - 1) * w, t + (long)fl * w, t + (long)fw * w, c, w);
            fl = fw;
            fw += 2;
        }
        if (m < end)
        {
            var c2 = c + c;
            var dst = t + (long)(fw - 1) * w;
            var src = t + (long)fl * w;
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var vc = Vector256.Create(c2);
                for (; i <= w - 8; i += 8) Vector256.Store(Vector256.Load(dst + i) + Vector256.Load(src + i) * vc, dst + i);
            }
            for (; i < w; i++) dst[i] = dst[i] + src[i] * c2;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(float* dst, float* l, float* r, float c, int w)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vc = Vector256.Create(c);
            for (; i <= w - 8; i += 8)
                Vector256.Store(Vector256.Load(dst + i) + (Vector256.Load(l + i) + Vector256.Load(r + i)) * vc, dst + i);
        }
        for (; i < w; i++) dst[i] = dst[i] + (l[i] + r[i]) * c;
    }
}
