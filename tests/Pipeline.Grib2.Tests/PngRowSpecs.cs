using Pipeline.Grib2.Data;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// The PNG template's two hot loops against their definitions: the row filters (PNG specification section 9, written
/// here the plain way) on random rows of every filter, pixel width and row length around the vector widths, and the
/// vectorized sample scaling against the scalar formula, to doubles and to float32.
/// </summary>
public sealed class PngRowSpecs
{
    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    // The specification's reconstruction, byte by byte, with the row above row 0 and the pixel left of byte 0 as zeros.
    private static void Reference(byte[] raw, int rows, int rowBytes, int bpp)
    {
        var stride = rowBytes + 1;
        for (var y = 0; y < rows; y++)
        {
            var filter = raw[y * stride];
            for (var i = 0; i < rowBytes; i++)
            {
                var at = y * stride + 1 + i;
                int a = i >= bpp ? raw[at - bpp] : 0, b = y > 0 ? raw[at - stride] : 0, c = i >= bpp && y > 0 ? raw[at - stride - bpp] : 0;
                raw[at] += (byte)(filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) >> 1, _ => Paeth(a, b, c) });
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Should_reconstruct_every_filter_as_the_specification_defines_it(int bpp)
    {
        var rng = new Random(41 + bpp);
        // Rows of whole pixels, and (for the two-byte path's odd tail) rows one byte longer.
        foreach (var (pixels, extra) in ((int[])[1, 2, 5, 8, 15, 16, 17, 31, 33, 64, 101]).SelectMany(p => new[] { (p, 0), (p, 1) }))
        {
            var rowBytes = pixels * bpp + extra;
            // Every filter on row 0 and after each other filter: 5 x 5 pairs, then random rows.
            var filters = Enumerable.Range(0, 25).SelectMany(k => new[] { k / 5, k % 5 }).Concat(Enumerable.Range(0, 20).Select(_ => rng.Next(5))).ToArray();
            var rows = filters.Length;
            var raw = new byte[rows * (rowBytes + 1)];
            rng.NextBytes(raw);
            for (var y = 0; y < rows; y++) raw[y * (rowBytes + 1)] = (byte)filters[y];
            var expected = (byte[])raw.Clone();
            Reference(expected, rows, rowBytes, bpp);

            // As the decoder does it: row by row, each on the row above it already unfiltered.
            var stride = rowBytes + 1;
            for (var y = 0; y < rows; y++)
                PngPacking.UnfilterRow(raw[y * stride], raw.AsSpan(y * stride + 1, rowBytes), y > 0 ? raw.AsSpan((y - 1) * stride + 1, rowBytes) : default, bpp, y, 0);

            for (var y = 0; y < rows; y++)
                Assert.True(expected.AsSpan(y * (rowBytes + 1), rowBytes + 1).SequenceEqual(raw.AsSpan(y * (rowBytes + 1), rowBytes + 1)),
                    $"bpp {bpp}, {rowBytes} bytes: row {y} (filter {filters[y]} after {(y > 0 ? filters[y - 1] : -1)}) differs");
        }
    }

    [Fact]
    public void Should_reject_an_undefined_filter_type_naming_the_row()
    {
        var e = Assert.Throws<GribFormatException>(() => PngPacking.UnfilterRow(5, new byte[4], new byte[4], 1, 2, 1234));
        Assert.Contains("row 2 has filter type 5", e.Message, StringComparison.Ordinal);
        Assert.Equal(1234, e.Offset);
    }

    [Fact]
    public void Should_refuse_a_row_above_shorter_than_the_row()
    {
        Assert.Throws<ArgumentException>(() => PngPacking.UnfilterRow(2, new byte[5], new byte[4], 1, 1, 0));
    }

    public static TheoryData<int, int, int> Scalings => new()
    {
        { 0, 0, 0 },
        { 3, -2, 1 },
        { -5, 4, -2 },
    };

    [Theory]
    [MemberData(nameof(Scalings))]
    public void Should_scale_samples_exactly_as_the_scalar_formula_to_doubles_and_to_float32(int binary, int @decimal, int reference)
    {
        var s = new Scaling(reference * 1.25, binary, @decimal);
        var rng = new Random(7 + binary);
        foreach (var n in (int[])[0, 1, 7, 8, 9, 16, 23, 1000])
        {
            var bytes = new byte[2 * n];
            rng.NextBytes(bytes);
            if (n > 3 && binary == 0 && @decimal == 0 && reference == 0)
            {
                // 9999 itself (missing to ecCodes): NaN in float32, 9999 in doubles; 9998 stays a value.
                bytes[2] = 9999 >> 8; bytes[3] = 9999 & 0xFF;
                bytes[4] = 9998 >> 8; bytes[5] = 9998 & 0xFF;
            }
            double Expected16(int i) => (((bytes[2 * i] << 8) | bytes[2 * i + 1]) * s.Binary + s.Reference) * s.Decimal;
            double Expected8(int i) => (bytes[i] * s.Binary + s.Reference) * s.Decimal;
            float Narrow(double v) => v == 9999 ? float.NaN : (float)v;

            var d16 = new double[n];
            var f16 = new float[n];
            var d8 = new double[n];
            var f8 = new float[n];
            VectorScale.FromBigEndianUInt16<double>(bytes, d16, s);
            VectorScale.FromBigEndianUInt16<float>(bytes, f16, s);
            VectorScale.FromUInt8<double>(bytes, d8, s);
            VectorScale.FromUInt8<float>(bytes, f8, s);

            for (var i = 0; i < n; i++)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(Expected16(i)), BitConverter.DoubleToInt64Bits(d16[i]));
                Assert.Equal(BitConverter.SingleToInt32Bits(Narrow(Expected16(i))), BitConverter.SingleToInt32Bits(f16[i]));
                Assert.Equal(BitConverter.DoubleToInt64Bits(Expected8(i)), BitConverter.DoubleToInt64Bits(d8[i]));
                Assert.Equal(BitConverter.SingleToInt32Bits(Narrow(Expected8(i))), BitConverter.SingleToInt32Bits(f8[i]));
            }
            if (n > 3 && binary == 0 && @decimal == 0 && reference == 0)
            {
                Assert.True(float.IsNaN(f16[1]));
                Assert.Equal(9999.0, d16[1]);
                Assert.Equal(9998f, f16[2]);
            }
        }
    }
}
