using Pipeline.Grib2.Grids;
using Pipeline.Grib2.Indexing;
using Pipeline.Grib2.Products;
using Pipeline.Grib2.Writing;
using Xunit;

namespace Pipeline.Grib2.Tests.Writing;

/// <summary>Messages written by <see cref="GribEncoder"/> read back through our own decoder.</summary>
public sealed class GribEncoderSpecs
{
    internal static readonly DateTime Reference = new(2026, 1, 15, 12, 0, 0, DateTimeKind.Utc);

    internal static GribFieldSpec Spec(GribProduct product, SimplePackingSpec? packing = null, RegularLatLonGrid? grid = null) =>
        new(new GribIdentity(7, Reference) { ProductionStatus = 2, TypeOfData = 1 },
            grid ?? RegularLatLonGrid.Global(5), product, packing ?? SimplePackingSpec.Bits(16));

    /// <summary>A smooth temperature-like field with some small-scale noise, in the grid's scanning order.</summary>
    internal static double[] Field(RegularLatLonGrid g, double mean = 280, double amplitude = 40, int seed = 1)
    {
        var rng = new Random(seed);
        var v = new double[g.PointCount];
        for (var j = 0; j < g.Nj; j++)
            for (var i = 0; i < g.Ni; i++)
            {
                double lat = g.Latitude(j), lon = g.Longitude(i);
                v[j * g.Ni + i] = mean + amplitude * Math.Cos(lat * Math.PI / 180) * Math.Cos(lat * Math.PI / 180)
                                  + 3 * Math.Sin(3 * lon * Math.PI / 180) + rng.NextDouble() - 0.5;
            }
        return v;
    }

    [Theory]
    [InlineData(0, 16, null)]
    [InlineData(0, 12, null)]
    [InlineData(0, 24, null)]
    [InlineData(1, null, 0)]
    [InlineData(2, null, 0)]
    [InlineData(-1, null, 0)]
    [InlineData(0, null, -3)]
    [InlineData(1, 14, 1)]
    public void Should_round_trip_values_within_the_packing_precision_when_decoded_by_us(int decimalScale, int? bits, int? binaryScale)
    {
        var spec = Spec(GribProduct.Temperature(GribLevel.HeightAboveGround(2)), new SimplePackingSpec(decimalScale, bits, binaryScale));
        var values = Field(spec.Grid, mean: 250, amplitude: 50);
        var field = Assert.Single(Assert.Single(GribFile.Scan(GribEncoder.Encode(spec, values))).Fields);
        var s5 = field.Section5.Span;
        int e = Signed(s5[15], s5[16]), d = Signed(s5[17], s5[18]);
        Assert.Equal(decimalScale, d);
        if (binaryScale is { } be) Assert.Equal(be, e);
        if (bits is { } b) Assert.Equal(b, field.BitsPerValue);
        var tolerance = Math.ScaleB(1.0, e) / 2 * Math.Pow(10, -d) * (1 + 1e-9) + 1e-9 * 300;
        var decoded = field.DecodeValues();
        Assert.Equal(values.Length, decoded.Length);
        var worst = values.Zip(decoded, (a, x) => Math.Abs(a - x)).Max();
        Assert.True(worst <= tolerance, $"worst error {worst} exceeds the precision {tolerance} (E={e}, D={d}, {field.BitsPerValue} bits)");
        Assert.Equal(255, field.BitmapIndicator);
    }

    [Fact]
    public void Should_choose_the_fewest_bits_that_hold_the_range_when_the_binary_scale_is_given()
    {
        // 0.0 .. 100.0 with D=1 and E=0 is 0..1000: 10 bits.
        var grid = RegularLatLonGrid.Global(10);
        var values = Enumerable.Range(0, grid.PointCount).Select(i => i % 2 == 0 ? 0.0 : 100.0).ToArray();
        var field = Decode(Spec(GribProduct.RelativeHumidity(GribLevel.IsobaricHectopascals(850)), SimplePackingSpec.Decimals(1), grid), values);
        Assert.Equal(10, field.BitsPerValue);
        Assert.Equal(values, field.DecodeValues().Select(v => Math.Round(v, 6)));
    }

    [Fact]
    public void Should_restore_NaN_where_values_are_missing_when_a_bitmap_is_written()
    {
        var spec = Spec(GribProduct.Temperature(GribLevel.Surface));
        var values = Field(spec.Grid);
        for (var i = 0; i < values.Length; i += 7) values[i] = double.NaN;
        values[^1] = double.NaN;
        var field = Decode(spec, values);
        Assert.Equal(0, field.BitmapIndicator);
        Assert.Equal(values.Count(v => !double.IsNaN(v)), field.NumberOfValues);
        var decoded = field.DecodeValues();
        for (var i = 0; i < values.Length; i++)
        {
            if (double.IsNaN(values[i])) Assert.True(double.IsNaN(decoded[i]), $"point {i} should be missing, decoded {decoded[i]}");
            else Assert.True(Math.Abs(values[i] - decoded[i]) < 0.01, $"point {i}: {values[i]} decoded as {decoded[i]}");
        }
    }

    [Fact]
    public void Should_write_zero_bits_and_the_exact_value_when_the_field_is_constant()
    {
        var grid = RegularLatLonGrid.Global(10);
        var values = Enumerable.Repeat(0.0, grid.PointCount).ToArray();
        var field = Decode(Spec(GribProduct.TotalPrecipitation(0, 0), SimplePackingSpec.Decimals(1), grid), values);
        Assert.Equal(0, field.BitsPerValue);
        Assert.All(field.DecodeValues(), v => Assert.Equal(0.0, v));

        var constant = Enumerable.Repeat(273.15, grid.PointCount).Select(v => (float)v).ToArray();
        var f2 = Decode(Spec(GribProduct.Temperature(GribLevel.Surface), SimplePackingSpec.Decimals(2), grid), constant);
        Assert.All(f2.DecodeValues(), v => Assert.Equal(273.15f, (float)v));
    }

    [Fact]
    public void Should_write_every_value_missing_when_all_are_NaN()
    {
        var grid = RegularLatLonGrid.Global(10);
        var values = Enumerable.Repeat(double.NaN, grid.PointCount).ToArray();
        var field = Decode(Spec(GribProduct.Temperature(GribLevel.Surface), grid: grid), values);
        Assert.Equal(0, field.NumberOfValues);
        Assert.All(field.DecodeValues(), v => Assert.True(double.IsNaN(v)));
    }

    [Fact]
    public void Should_write_the_identification_grid_and_product_when_read_back_by_us()
    {
        var grid = RegularLatLonGrid.Regional(60, 230, 20, 300, 2.5);
        var spec = new GribFieldSpec(
            new GribIdentity(54, Reference) { SubCentre = 3, ProductionStatus = 2, TypeOfData = 2, MasterTablesVersion = 28 },
            grid, GribProduct.GeopotentialHeight(GribLevel.IsobaricHectopascals(500)) with { ForecastHours = 36, GeneratingProcessIdentifier = 96 },
            SimplePackingSpec.Decimals(0));
        var field = Decode(spec, Field(grid, 5500, 300));
        var id = field.Message.Identification;
        Assert.Equal((54, 3, 28, 2, 2), (id.Centre, id.SubCentre, id.MasterTablesVersion, id.ProductionStatus, id.TypeOfData));
        Assert.Equal(Reference, id.ReferenceTime);
        Assert.Equal(0, field.Discipline);

        var g = Assert.IsType<LatLonGrid>(GridDefinition.Parse(field.Section3.Span));
        Assert.Equal((29, 17), (g.Ni, g.Nj));
        Assert.Equal((60.0, 230.0, 20.0, 300.0), (g.LatitudeOfFirstGridPoint, g.LongitudeOfFirstGridPoint, g.LatitudeOfLastGridPoint, g.LongitudeOfLastGridPoint));
        Assert.Equal((2.5, 2.5), (g.IDirectionIncrement, g.JDirectionIncrement));
        var (lat, lon) = g.GetLatLons();
        Assert.Equal((60.0, 230.0), (lat[0], lon[0]));
        Assert.Equal((57.5, 232.5), (lat[grid.Ni + 1], lon[grid.Ni + 1]));

        var p = ProductDefinition.Parse(field.Section4.Span);
        Assert.Equal((0, 3, 5, 2, 96), (p.TemplateNumber, p.ParameterCategory, p.ParameterNumber, p.TypeOfGeneratingProcess, p.GeneratingProcessIdentifier));
        Assert.Equal(36, p.ForecastTime);
        Assert.Equal((100, 50000.0), (p.FirstSurface!.Value.Type, p.FirstSurface.Value.Value));
        Assert.True(p.SecondSurface!.Value.IsMissing);
        var entry = Inventory.Describe(field, 1);
        Assert.Equal(("gh", "isobaricInhPa", 500.0, "36"), (entry.ShortName, entry.TypeOfLevel, entry.Level, entry.StepRange));
    }

    [Fact]
    public void Should_write_template_4_8_with_the_interval_when_the_product_is_an_accumulation()
    {
        var field = Decode(Spec(GribProduct.TotalPrecipitation(0, 18), SimplePackingSpec.Decimals(1)), Field(RegularLatLonGrid.Global(5), 5, 5));
        var p = ProductDefinition.Parse(field.Section4.Span);
        Assert.Equal(8, p.TemplateNumber);
        Assert.Equal(0, p.ForecastTime);
        var range = Assert.Single(p.TimeRanges);
        Assert.Equal((1, 2, 1, 18L), (range.TypeOfStatisticalProcessing, range.TypeOfTimeIncrement, range.IndicatorOfUnitForTimeRange, range.LengthOfTimeRange));
        Assert.Equal(Reference.AddHours(18), p.EndOfOverallTimeInterval);
        var entry = Inventory.Describe(field, 1);
        Assert.Equal(("tp", "0-18"), (entry.ShortName, entry.StepRange));
    }

    [Theory]
    [InlineData(0, 2, 2, 103, 10.0, "10u")]
    [InlineData(0, 2, 3, 103, 10.0, "10v")]
    [InlineData(0, 0, 0, 103, 2.0, "2t")]
    [InlineData(0, 0, 0, 100, 85000.0, "t")]
    [InlineData(0, 3, 1, 101, 0.0, "prmsl")]
    [InlineData(0, 3, 0, 1, 0.0, "sp")]
    [InlineData(0, 1, 1, 100, 70000.0, "r")]
    public void Should_be_named_like_ecCodes_names_it_when_the_parameter_and_level_are_written(int discipline, int category, int number, int levelType, double level, string shortName)
    {
        var field = Decode(Spec(new GribProduct(discipline, category, number, new GribLevel(levelType, level)) { ForecastHours = 6 }), Field(RegularLatLonGrid.Global(5)));
        Assert.Equal(shortName, Inventory.Describe(field, 1).ShortName);
    }

    [Fact]
    public void Should_read_values_in_the_declared_scanning_order_when_the_grid_scans_south_to_north()
    {
        var g = RegularLatLonGrid.Global(10) with { FirstLatitude = -90, LastLatitude = 90, ScanningMode = 0x40 };
        var values = new double[g.PointCount];
        for (var j = 0; j < g.Nj; j++)
            for (var i = 0; i < g.Ni; i++)
                values[j * g.Ni + i] = g.Latitude(j);
        var field = Decode(Spec(GribProduct.Temperature(GribLevel.Surface), SimplePackingSpec.Decimals(0), g), values);
        var grid = GridDefinition.Parse(field.Section3.Span);
        var (lat, _) = grid.GetLatLons();
        var decoded = field.DecodeValues();
        for (var k = 0; k < decoded.Length; k++) Assert.Equal(lat[k], decoded[k], 6);
        Assert.Equal(-90, lat[0]);
    }

    [Fact]
    public void Should_hold_every_message_in_order_when_several_are_written_to_one_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"encoder-{Guid.NewGuid():N}.grib2");
        try
        {
            var grid = RegularLatLonGrid.Global(5);
            var products = new[]
            {
                GribProduct.Temperature(GribLevel.HeightAboveGround(2)),
                GribProduct.UWind(GribLevel.HeightAboveGround(10)),
                GribProduct.VWind(GribLevel.HeightAboveGround(10)),
                GribProduct.TotalPrecipitation(0, 6),
            };
            long bytes;
            using (var w = GribWriter.Create(path))
            {
                for (var k = 0; k < products.Length; k++) w.Write(Spec(products[k] with { ForecastHours = 6 }, grid: grid), Field(grid, k, 10, k));
                Assert.Equal(4, w.MessageCount);
                bytes = w.BytesWritten;
            }
            Assert.Equal(bytes, new FileInfo(path).Length);
            var inventory = Inventory.Build(GribFile.Read(path));
            Assert.Equal(["2t", "10u", "10v", "tp"], inventory.Select(e => e.ShortName));
            var messages = GribFile.Read(path);
            for (var k = 0; k < products.Length; k++)
                Assert.Equal(Field(grid, k, 10, k)[17], messages[k].Fields[0].DecodeValues()[17], 2);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Should_write_the_same_bytes_to_a_stream_as_to_an_array_when_pooled_buffers_are_reused()
    {
        var big = Spec(GribProduct.Temperature(GribLevel.Surface), SimplePackingSpec.Bits(24), RegularLatLonGrid.Global(2));
        var bigValues = Field(big.Grid, seed: 3);
        var holes = Spec(GribProduct.Temperature(GribLevel.Surface), SimplePackingSpec.Bits(12), RegularLatLonGrid.Global(2));
        var holeValues = Field(holes.Grid, seed: 4);
        for (var i = 0; i < holeValues.Length; i += 3) holeValues[i] = double.NaN;
        using var stream = new MemoryStream();
        var first = GribEncoder.Encode(big, bigValues, stream);
        var second = GribEncoder.Encode(holes, holeValues, stream);
        var expected = GribEncoder.Encode(big, bigValues).Concat(GribEncoder.Encode(holes, holeValues)).ToArray();
        Assert.Equal(expected.Length, first + second);
        Assert.Equal(expected, stream.ToArray());
    }

    [Fact]
    public void Should_refuse_bad_input_with_a_message_that_names_it()
    {
        var spec = Spec(GribProduct.Temperature(GribLevel.Surface));
        var values = Field(spec.Grid);
        Assert.Contains("values given", Assert.Throws<ArgumentException>(() => GribEncoder.Encode(spec, values.AsSpan(1))).Message);
        var inf = (double[])values.Clone();
        inf[5] = double.PositiveInfinity;
        Assert.Contains("value 5", Assert.Throws<ArgumentException>(() => GribEncoder.Encode(spec, inf)).Message);
        Assert.Contains("needs", Assert.Throws<ArgumentException>(() => GribEncoder.Encode(spec with { Packing = new SimplePackingSpec(3, 8, 0) }, values)).Message);
        Assert.Contains("33 bits", Assert.Throws<ArgumentException>(() => GribEncoder.Encode(spec with { Packing = SimplePackingSpec.Bits(33) }, values)).Message);
        Assert.Contains("give bits", Assert.Throws<ArgumentException>(() => GribEncoder.Encode(spec with { Packing = new SimplePackingSpec(0, null, null) }, values)).Message);
        Assert.Contains("parameter number 300", Assert.Throws<ArgumentException>(() =>
            GribEncoder.Encode(spec with { Product = new GribProduct(0, 0, 300, GribLevel.Surface) }, values)).Message);
        Assert.Contains("level value -2", Assert.Throws<ArgumentException>(() =>
            GribEncoder.Encode(spec with { Product = GribProduct.Temperature(new GribLevel(103, -2)) }, values)).Message);
        Assert.Contains("interval 6-0", Assert.Throws<ArgumentException>(() =>
            GribEncoder.Encode(spec with { Product = GribProduct.TotalPrecipitation(6, 0) }, values)).Message);
        Assert.Contains("latitude 95", Assert.Throws<ArgumentException>(() =>
            GribEncoder.Encode(spec with { Grid = spec.Grid with { FirstLatitude = 95 } }, values)).Message);
        Assert.Throws<ArgumentException>(() => RegularLatLonGrid.Global(0.7));
    }

    private static int Signed(byte hi, byte lo)
    {
        var v = (hi << 8) | lo;
        return (v & 0x8000) != 0 ? -(v & 0x7FFF) : v;
    }

    private static GribField Decode(GribFieldSpec spec, double[] values) =>
        Assert.Single(Assert.Single(GribFile.Scan(GribEncoder.Encode(spec, values))).Fields);

    private static GribField Decode(GribFieldSpec spec, float[] values) =>
        Assert.Single(Assert.Single(GribFile.Scan(GribEncoder.Encode(spec, values))).Fields);
}
