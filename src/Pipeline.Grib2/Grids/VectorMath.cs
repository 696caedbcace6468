using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Pipeline.Grib2.Grids;

/// <summary>
/// Four-lane double-precision inverse trigonometry for the per-point projections of large grids (a 3.3 M-point rotated
/// HRDPS grid needs 6.6 M arcsines and arctangents; libm's scalar calls were three quarters of its coordinate time).
/// .NET has no vector arctangent, so this is Cephes' <c>atan</c> (range reduction
/// to |x| &lt;= 0.66 and a 4/5-degree rational, relative error below 2e-16 over the whole line) on four lanes, with
/// <c>atan2</c> and <c>asin</c> built on it. Results are within a few ulps of libm, not bit-identical: callers whose
/// inputs may be zero, infinite or NaN get those lanes from <see cref="Special(Vector256{double}, Vector256{double})"/>
/// and redo them with <see cref="Math"/>, so every edge case keeps libm's exact answer (signed zeros, poles, NaN).
/// </summary>
internal static class VectorMath
{
    private const double T3P8 = 2.41421356237309504880; // tan(3 pi / 8)
    private const double MoreBits = 6.123233995736765886130E-17; // pi/2 - (double)(pi/2)
    private const double P0 = -8.750608600031904122785E-1, P1 = -1.615753718733365076637E1, P2 = -7.500855792314704667340E1,
        P3 = -1.228866684490136173410E2, P4 = -6.485021904942025371773E1;
    private const double Q0 = 2.485846490142306297962E1, Q1 = 1.650270098316988542046E2, Q2 = 4.328810604912902668951E2,
        Q3 = 4.853903996359136964868E2, Q4 = 1.945506571482613964425E2;

    /// <summary>atan(x) on four lanes (any finite x, and ±infinity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Atan(Vector256<double> x) => AtanOfRatio(Vector256.Abs(x), Vector256<double>.One) | (x & Vector256.Create(-0.0));

    /// <summary>atan2(y, x) on four lanes where neither is zero nor non-finite (see <see cref="Special"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Atan2(Vector256<double> y, Vector256<double> x)
    {
        var a = AtanOfRatio(Vector256.Abs(y), Vector256.Abs(x));
        // x < 0: the angle is pi - atan(|y/x|); then the sign of y.
        a = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), Vector256.Create(Math.PI) - a, a);
        return a | (y & Vector256.Create(-0.0));
    }

    /// <summary>asin(z) on four lanes, |z| &lt; 1 (lanes at ±1 belong to <see cref="Special"/>'s caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Asin(Vector256<double> z)
    {
        var one = Vector256<double>.One;
        return AtanOfRatio(Vector256.Abs(z), Vector256.Sqrt((one - z) * (one + z))) | (z & Vector256.Create(-0.0));
    }

    /// <summary>
    /// atan(n / d) for n, d &gt;= 0, not both zero, in two divisions: Cephes' reduction (n/d above tan(3 pi / 8):
    /// pi/2 + atan(-d/n); above 0.66: pi/4 + atan((n-d)/(n+d)); else atan(n/d)) is chosen from the pair and divided
    /// once, then the rational. Dividing n by d first and reducing the quotient would take a third.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> AtanOfRatio(Vector256<double> n, Vector256<double> d)
    {
        var big = Vector256.GreaterThan(n, Vector256.Create(T3P8) * d);
        var mid = Vector256.AndNot(Vector256.GreaterThan(n, Vector256.Create(0.66) * d), big);
        var num = Vector256.ConditionalSelect(big, -d, Vector256.ConditionalSelect(mid, n - d, n));
        var den = Vector256.ConditionalSelect(big, n, Vector256.ConditionalSelect(mid, n + d, d));
        var xr = num / den;
        var y0 = (big & Vector256.Create(Math.PI / 2)) | (mid & Vector256.Create(Math.PI / 4));
        var extra = (big & Vector256.Create(MoreBits)) | (mid & Vector256.Create(0.5 * MoreBits));
        var z = xr * xr;
        var p = (((Vector256.Create(P0) * z + Vector256.Create(P1)) * z + Vector256.Create(P2)) * z + Vector256.Create(P3)) * z + Vector256.Create(P4);
        var q = ((((z + Vector256.Create(Q0)) * z + Vector256.Create(Q1)) * z + Vector256.Create(Q2)) * z + Vector256.Create(Q3)) * z + Vector256.Create(Q4);
        var r = xr * (z * p / q) + xr;
        return y0 + (r + extra);
    }

    private const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10; // fdlibm's split of ln 2
    private const double Magic = 6755399441055744.0; // 2^52 + 2^51: adding it leaves a small integer in the low mantissa bits

    /// <summary>
    /// exp(x) on four lanes for |x| &lt;= 700 (<see cref="PowSpecial"/> flags the rest): x = k ln 2 + r with |r| &lt;= ln 2 / 2
    /// (Cody-Waite), e^r by its Taylor series to r^13 (truncation below 2e-16), then 2^k put in the exponent. Inlined
    /// here rather than .NET's Vector256.Exp: that one is a generic CoreLib method a fresh process runs unoptimized
    /// (Tier0) for its first hundred milliseconds, which cost more than the scalar loop it replaced.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Exp(Vector256<double> x)
    {
        var kd = Vector256.Round(x * Vector256.Create(1.4426950408889634)); // x / ln 2, to nearest
        var r = x - kd * Vector256.Create(Ln2Hi) - kd * Vector256.Create(Ln2Lo);
        var p = Vector256.Create(1.0 / 6227020800.0); // 1/13!
        p = p * r + Vector256.Create(1.0 / 479001600.0);
        p = p * r + Vector256.Create(1.0 / 39916800.0);
        p = p * r + Vector256.Create(1.0 / 3628800.0);
        p = p * r + Vector256.Create(1.0 / 362880.0);
        p = p * r + Vector256.Create(1.0 / 40320.0);
        p = p * r + Vector256.Create(1.0 / 5040.0);
        p = p * r + Vector256.Create(1.0 / 720.0);
        p = p * r + Vector256.Create(1.0 / 120.0);
        p = p * r + Vector256.Create(1.0 / 24.0);
        p = p * r + Vector256.Create(1.0 / 6.0);
        p = p * r + Vector256.Create(0.5);
        p = p * r + Vector256<double>.One;
        p = p * r + Vector256<double>.One;
        // 2^k: k sits in the low bits of kd + Magic; shifted into the exponent field it scales p exactly.
        var k = (kd + Vector256.Create(Magic)).AsUInt64() - Vector256.Create(Magic).AsUInt64();
        return (p.AsUInt64() + (k << 52)).AsDouble();
    }

    /// <summary>
    /// ln(x) on four lanes for positive normal x (<see cref="PowSpecial"/> flags the rest): x = m 2^e with m in
    /// [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| &lt;= 0.1716, by its series to s^23.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Log(Vector256<double> x)
    {
        var bits = x.AsUInt64();
        var e = (bits >> 52).AsInt64() - Vector256.Create(1023L);
        var m = ((bits & Vector256.Create(0x000F_FFFF_FFFF_FFFFUL)) | Vector256.Create(0x3FF0_0000_0000_0000UL)).AsDouble();
        var high = Vector256.GreaterThan(m, Vector256.Create(1.4142135623730951));
        m = Vector256.ConditionalSelect(high, m * Vector256.Create(0.5), m);
        e -= high.AsInt64(); // a true lane is all ones: -1
        var ed = (e + Vector256.Create(Magic).AsInt64()).AsDouble() - Vector256.Create(Magic);
        var one = Vector256<double>.One;
        var s = (m - one) / (m + one);
        var s2 = s * s;
        var p = Vector256.Create(1.0 / 23);
        p = p * s2 + Vector256.Create(1.0 / 21);
        p = p * s2 + Vector256.Create(1.0 / 19);
        p = p * s2 + Vector256.Create(1.0 / 17);
        p = p * s2 + Vector256.Create(1.0 / 15);
        p = p * s2 + Vector256.Create(1.0 / 13);
        p = p * s2 + Vector256.Create(1.0 / 11);
        p = p * s2 + Vector256.Create(1.0 / 9);
        p = p * s2 + Vector256.Create(1.0 / 7);
        p = p * s2 + Vector256.Create(1.0 / 5);
        p = p * s2 + Vector256.Create(1.0 / 3);
        var lnM = Vector256.Create(2.0) * s + Vector256.Create(2.0) * s * s2 * p;
        return ed * Vector256.Create(Ln2Hi) + (lnM + ed * Vector256.Create(Ln2Lo));
    }

    /// <summary>x^y as Exp(y Log x) on four lanes: the lanes it cannot take (x not positive normal, |y ln x| &gt; 700).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> PowSpecial(Vector256<double> x, Vector256<double> yLnX) =>
        ~(Vector256.GreaterThanOrEqual(x, Vector256.Create(2.2250738585072014E-308))
          & Vector256.LessThan(x, Vector256.Create(double.PositiveInfinity))
          & Vector256.LessThanOrEqual(Vector256.Abs(yLnX), Vector256.Create(700.0)));

    /// <summary>
    /// The lanes where <see cref="Atan2"/> of (y, x) is not exact enough or not defined the vector way: either is zero
    /// (signed-zero and axis cases), infinite or NaN. The caller redoes them with <see cref="Math.Atan2"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Special(Vector256<double> y, Vector256<double> x)
    {
        var zero = Vector256<double>.Zero;
        var inf = Vector256.Create(double.PositiveInfinity);
        return Vector256.Equals(x, zero) | Vector256.Equals(y, zero)
            | ~Vector256.LessThan(Vector256.Abs(x), inf) | ~Vector256.LessThan(Vector256.Abs(y), inf);
    }
}
