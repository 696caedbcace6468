using System.Runtime.Intrinsics;
using Pipeline.Grib2.Grids;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// The four-lane arctangents the projected and rotated grids use, against libm (System.Math) over millions of
/// arguments spread across every range the reduction distinguishes: within 2 ulps everywhere, and the cases the
/// vector path must hand back to libm are flagged.
/// </summary>
public sealed class VectorMathSpecs
{
    private static double Ulps(double expected, double actual)
    {
        if (expected == actual) return 0;
        var ulp = Math.BitIncrement(Math.Abs(expected)) - Math.Abs(expected);
        return Math.Abs(expected - actual) / ulp;
    }

    // The largest distance from libm over the arguments (whole groups of four), and where.
    private static (double Ulps, double At) WorstUlps(double[] xs, Func<Vector256<double>, Vector256<double>> vector, Func<double, double> libm)
    {
        var worst = (Ulps: 0.0, At: 0.0);
        for (var k = 0; k + 4 <= xs.Length; k += 4)
        {
            var v = vector(Vector256.Create(xs.AsSpan(k, 4)));
            for (var l = 0; l < 4; l++)
            {
                var u = Ulps(libm(xs[k + l]), v.GetElement(l));
                if (u > worst.Ulps) worst = (u, xs[k + l]);
            }
        }
        return worst;
    }

    private static IEnumerable<double> Arguments(int seed, int count)
    {
        var rng = new Random(seed);
        for (var k = 0; k < count; k++)
        {
            // Log-uniform magnitudes from 1e-12 to 1e12 (every branch: direct, (x-1)/(x+1), -1/x), both signs.
            var m = Math.Pow(10, rng.NextDouble() * 24 - 12);
            yield return rng.Next(2) == 0 ? m : -m;
        }
        // The branch edges themselves.
        foreach (var e in new[] { 0.66, 2.414213562373095, 1.0, 1e-300, 1e300 })
        {
            yield return e;
            yield return Math.BitIncrement(e);
            yield return Math.BitDecrement(e);
            yield return -e;
        }
    }

    [Fact]
    public void Should_be_within_two_ulps_of_libm_when_taking_the_arctangent()
    {
        var (worst, worstAt) = WorstUlps(Arguments(1, 400_000).ToArray(), VectorMath.Atan, Math.Atan);
        Assert.True(worst <= 2, $"atan: worst {worst} ulps at {worstAt:R}");
        Assert.Equal(Math.PI / 2, VectorMath.Atan(Vector256.Create(double.PositiveInfinity)).GetElement(0));
        Assert.Equal(-Math.PI / 2, VectorMath.Atan(Vector256.Create(double.NegativeInfinity)).GetElement(0));
        Assert.True(double.IsNaN(VectorMath.Atan(Vector256.Create(double.NaN)).GetElement(0)));
    }

    [Fact]
    public void Should_be_within_two_ulps_of_libm_when_taking_the_arctangent_of_two_arguments_in_every_quadrant()
    {
        var worst = 0.0;
        var worstAt = (0.0, 0.0);
        var ys = Arguments(2, 200_000).ToArray();
        var xs = Arguments(3, 200_000).ToArray();
        for (var k = 0; k + 4 <= ys.Length; k += 4)
        {
            var y = Vector256.Create(ys.AsSpan(k, 4));
            var x = Vector256.Create(xs.AsSpan(k, 4));
            Assert.Equal(0u, VectorMath.Special(y, x).ExtractMostSignificantBits());
            var v = VectorMath.Atan2(y, x);
            for (var l = 0; l < 4; l++)
            {
                var u = Ulps(Math.Atan2(ys[k + l], xs[k + l]), v.GetElement(l));
                if (u > worst) (worst, worstAt) = (u, (ys[k + l], xs[k + l]));
            }
        }
        Assert.True(worst <= 2, $"atan2: worst {worst} ulps at {worstAt}");
    }

    [Fact]
    public void Should_be_within_two_ulps_of_libm_when_taking_the_arcsine_up_to_the_poles()
    {
        var rng = new Random(4);
        var zs = new double[400_000];
        for (var k = 0; k < zs.Length; k++)
        {
            // Uniform on (-1, 1), and clustered near ±1 where asin is steep.
            var z = k % 2 == 0 ? rng.NextDouble() * 2 - 1 : 1 - Math.Pow(10, -rng.NextDouble() * 15);
            zs[k] = k % 4 == 1 ? -z : z;
        }
        var (worst, worstAt) = WorstUlps(zs, VectorMath.Asin, Math.Asin);
        Assert.True(worst <= 2, $"asin: worst {worst} ulps at {worstAt:R}");
    }

    [Fact]
    public void Should_flag_zeros_infinities_and_NaN_for_libm_when_taking_the_arctangent_of_two_arguments()
    {
        var y = Vector256.Create(0.0, -0.0, 1.0, double.NaN);
        var x = Vector256.Create(1.0, 1.0, double.NegativeInfinity, 1.0);
        Assert.Equal(0b1111u, VectorMath.Special(y, x).ExtractMostSignificantBits());
        Assert.Equal(0b0010u, VectorMath.Special(Vector256.Create(1.0, 1.0, 1.0, 1.0), Vector256.Create(1.0, 0.0, -1.0, 2.0)).ExtractMostSignificantBits());
    }
}
