using System.Runtime.InteropServices;
using Pipeline.Zarr.Grib;
using Xunit;

namespace Pipeline.Zarr.Tests.Grib;

/// <summary>
/// Decoded doubles become the float32 values cfgrib shows: narrowed to nearest, ecCodes' missingValue 9999 as NaN.
/// Done in place (the floats over the start of the doubles) and eight at a time; checked against the one-value rule.
/// </summary>
public sealed class Float32NarrowingSpecs
{
    [Fact]
    public void Should_narrow_in_place_exactly_as_value_by_value_with_9999_as_missing()
    {
        var rng = new Random(7);
        foreach (var n in new[] { 0, 1, 7, 8, 9, 15, 16, 17, 1000, 4099 })
        {
            var values = new double[n];
            for (var i = 0; i < n; i++)
                values[i] = (i % 11) switch
                {
                    0 => 9999,
                    1 => 9999.0000001, // rounds to 9999f, but is a value
                    2 => double.NaN,
                    3 => 1e40, // beyond float: infinity
                    4 => -0.0,
                    _ => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-10, 10)),
                };
            var expected = values.Select(v => v == 9999 ? float.NaN : (float)v).ToArray();
            var scratch = (double[])values.Clone();
            var result = MemoryMarshal.Cast<double, float>(scratch.AsSpan())[..n];
            GribFieldRecord.ToFloat32(scratch, result);
            for (var i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(result[i]) || (float.IsNaN(expected[i]) && float.IsNaN(result[i])),
                    $"n={n} [{i}] {values[i]:R}: expected {expected[i]:R}, got {result[i]:R}");
        }
    }
}
