using System.Buffers.Binary;
using Pipeline.Grib2.Grids;
using Pipeline.Grib2.Products;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>Hostile section 3 / 4 bytes: a GribFormatException that names the template and the offset, never a crash.</summary>
public sealed class GridBadInputSpecs
{
    // A valid 3.0 section: 4 x 3 regular lat/lon, 1 degree, from (10N, 20E).
    private static byte[] LatLon(uint ni = 4, uint nj = 3, uint points = 12)
    {
        var s = new byte[72];
        BinaryPrimitives.WriteUInt32BigEndian(s, 72);
        s[4] = 3;
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(6), points);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(12), 0);
        s[14] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(30), ni);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(34), nj);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(46), 10_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(50), 20_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(55), 12_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(59), 23_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(63), 1_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(67), 1_000_000);
        s[71] = 0x40;
        return s;
    }

    [Fact]
    public void Should_read_a_well_formed_section_when_it_is_not_broken()
    {
        var g = Assert.IsType<LatLonGrid>(GridDefinition.Parse(LatLon()));
        var (lat, lon) = g.GetLatLons();
        Assert.Equal((10.0, 20.0, 12.0, 23.0), (lat[0], lon[0], lat[^1], lon[^1]));
        Assert.Equal(new BoundingBox(10, 20, 12, 23), g.GetBoundingBox());
    }

    [Fact]
    public void Should_name_template_and_offset_when_Nx_times_Ny_overflows()
    {
        var e = Assert.Throws<GribFormatException>(() => GridDefinition.Parse(LatLon(0xFFFFFFF0, 0xFFFFFFF0, 12), 4242));
        Assert.Equal(4242, e.Offset);
        Assert.Equal(3, e.Section);
        Assert.Contains("3.0", e.Message);
        Assert.Contains("Ni*Nj", e.Message);
    }

    [Fact]
    public void Should_refuse_points_that_disagree_with_the_grid_when_Ni_Nj_lie()
    {
        var e = Assert.Throws<GribFormatException>(() => GridDefinition.Parse(LatLon(5, 3, 12), 10));
        Assert.Contains("15", e.Message);
    }

    [Theory]
    [InlineData(150, "HEALPix")]
    [InlineData(999, "3.999 is not supported")]
    public void Should_name_the_template_when_the_grid_cannot_be_placed(int template, string expected)
    {
        var s = LatLon();
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(12), (ushort)template);
        var e = Assert.Throws<GribFormatException>(() => GridDefinition.Parse(s, 77));
        Assert.Contains(expected, e.Message);
        Assert.Contains($"3.{template}", e.Message);
        Assert.Equal(77, e.Offset);
    }

    [Fact]
    public void Should_fail_clearly_when_section_3_is_truncated_anywhere()
    {
        var full = LatLon();
        for (var cut = 0; cut < full.Length; cut++)
        {
            var s = full.AsSpan(0, cut).ToArray();
            if (s.Length >= 4) BinaryPrimitives.WriteUInt32BigEndian(s, (uint)cut);
            var e = Assert.Throws<GribFormatException>(() => GridDefinition.Parse(s, 5));
            Assert.Equal(5, e.Offset);
        }
    }

    [Fact]
    public void Should_fail_clearly_when_every_grid_template_is_cut_short()
    {
        foreach (var template in new[] { 0, 1, 10, 20, 30, 40, 90, 101, 32769 })
        {
            var s = new byte[30];
            BinaryPrimitives.WriteUInt32BigEndian(s, 30);
            s[4] = 3;
            BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(6), 100);
            BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(12), (ushort)template);
            var e = Assert.Throws<GribFormatException>(() => GridDefinition.Parse(s, 9));
            Assert.Contains($"3.{template}", e.Message);
        }
    }

    [Fact]
    public void Should_say_unstructured_grids_have_no_coordinates_when_asked_for_them()
    {
        var s = new byte[35];
        BinaryPrimitives.WriteUInt32BigEndian(s, 35);
        s[4] = 3;
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(6), 1000);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(12), 101);
        s[14] = 6;
        s[17] = 26;
        var g = GridDefinition.Parse(s);
        Assert.False(g.HasCoordinates);
        Assert.Null(g.GetBoundingBox());
        var e = Assert.Throws<NotSupportedException>(() => g.GetLatLons());
        Assert.Contains("3.101", e.Message);
    }

    private static byte[] Product(int template, int length)
    {
        var s = new byte[length];
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)length);
        s[4] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(7), (ushort)template);
        s[9] = 0;
        s[10] = 0;
        return s;
    }

    [Fact]
    public void Should_name_template_and_offset_when_a_product_template_is_unknown_or_short()
    {
        var e = Assert.Throws<GribFormatException>(() => ProductDefinition.Parse(Product(777, 34), 1234));
        Assert.Contains("4.777", e.Message);
        Assert.Equal((1234L, (int?)4), (e.Offset, e.Section));
        Assert.False(ProductDefinition.ParseLenient(Product(777, 34), 1234).IsKnownTemplate);

        foreach (var t in new[] { 0, 1, 2, 5, 6, 8, 9, 10, 11, 12, 15, 40, 44, 48 })
        {
            var short4 = Assert.Throws<GribFormatException>(() => ProductDefinition.Parse(Product(t, 20), 99));
            Assert.Contains($"4.{t}", short4.Message);
            Assert.Equal(99, short4.Offset);
        }
    }

    [Fact]
    public void Should_refuse_absurd_time_ranges_when_a_statistical_template_claims_more_than_it_holds()
    {
        var s = Product(8, 58);
        s[41] = 200; // 200 time ranges in a 58-octet section
        var e = Assert.Throws<GribFormatException>(() => ProductDefinition.Parse(s, 3));
        Assert.Contains("4.8", e.Message);
        Assert.Contains("200 time ranges", e.Message);
    }

    [Fact]
    public void Should_read_levels_steps_and_probabilities_when_given_a_well_formed_4_9()
    {
        var s = Product(9, 71);
        s[9] = 1; s[10] = 29; s[17] = 1; // hours
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(18), 6);
        s[22] = 1; s[28] = 255; // surface
        s[36] = 3; s[37] = 3; BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(38), 254); // > 0.254
        s[54] = 1; // one time range (octet 55)
        s[59] = 1; s[60] = 2; s[61] = 1; BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(62), 6); // octets 60-: acc, 6 hours
        var p = ProductDefinition.Parse(s);
        Assert.Equal((3, 0.254, "6-12"), (p.ProbabilityType, p.LowerLimit, p.StepRange));
        Assert.Equal((0.0, "surface"), p.Level(7));
        Assert.Equal(1, p.TypeOfStatisticalProcessing);
    }
}

public sealed class ProductAerosolSpecs
{
    [Fact]
    public void Should_read_the_two_octet_forecast_time_when_template_4_44_is_45_octets()
    {
        var s = new byte[45];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s, 45);
        s[4] = 4;
        s[8] = 44;
        s[9] = 20; s[10] = 102; // category, number
        s[11] = 0x9C; s[12] = 0x40; // aerosolType 40000
        s[30] = 1; // indicatorOfUnitOfTimeRange (octet 31)
        s[31] = 0; s[32] = 12; // forecastTime 12 (octets 32-33)
        s[33] = 105; s[34] = 0; s[38] = 1; // hybrid level 1 (octets 34-39)
        s[39] = 255; // no second surface (octet 40)
        var p = Pipeline.Grib2.Products.ProductDefinition.Parse(s);
        Assert.Equal((40000, 12L, "12", 1.0, "hybrid"), (p.AerosolType, p.ForecastTime, p.StepRange, p.Level(98).Level, p.Level(98).TypeOfLevel));
    }
}
