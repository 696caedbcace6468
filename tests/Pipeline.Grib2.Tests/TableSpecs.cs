using Pipeline.Grib2.Tables;
using Xunit;

namespace Pipeline.Grib2.Tests;

public sealed class TableSpecs
{
    private static ConceptKeys Keys(int centre, int d, int c, int n, int surface = 255, int factor = 0, long value = 0, int? stat = null)
    {
        var k = new ConceptKeys { Centre = centre, Discipline = d, ParameterCategory = c, ParameterNumber = n };
        k[ConceptKey.TypeOfFirstFixedSurface] = surface;
        k[ConceptKey.ScaleFactorOfFirstFixedSurface] = factor;
        k[ConceptKey.ScaledValueOfFirstFixedSurface] = value;
        k[ConceptKey.TypeOfSecondFixedSurface] = 255;
        k[ConceptKey.TypeOfStatisticalProcessing] = stat;
        k[ConceptKey.ProductDefinitionTemplateNumber] = stat is null ? 0 : 8;
        return k;
    }

    [Fact]
    public void Should_name_WMO_parameters_as_ecCodes_when_only_discipline_category_number_are_given()
    {
        var t = ParameterTable.Lookup(Keys(98, 0, 0, 0, surface: 100, value: 50000));
        Assert.Equal(("t", "Temperature", "K", "air_temperature"), (t.ShortName, t.Name, t.Units, t.CfName));
        Assert.Equal("r", ParameterTable.Lookup(Keys(7, 0, 1, 1, surface: 100)).ShortName);
    }

    [Fact]
    public void Should_pick_the_most_specific_entry_when_level_keys_match()
    {
        Assert.Equal("2t", ParameterTable.Lookup(Keys(7, 0, 0, 0, surface: 103, value: 2)).ShortName);
        Assert.Equal("t2m", ParameterTable.Lookup(Keys(7, 0, 0, 0, surface: 103, value: 2)).CfVarName);
        Assert.Equal("10u", ParameterTable.Lookup(Keys(7, 0, 2, 2, surface: 103, value: 10)).ShortName);
        Assert.Equal("u", ParameterTable.Lookup(Keys(7, 0, 2, 2, surface: 100, value: 50000)).ShortName);
        Assert.Equal("tp", ParameterTable.Lookup(Keys(98, 0, 1, 52, surface: 1, stat: 1)).ShortName);
    }

    [Fact]
    public void Should_use_NCEP_local_entries_only_for_NCEP_messages()
    {
        // 0/1/192 categorical rain is in NCEP's local table (kwbc), not in WMO's.
        Assert.Equal("crain", ParameterTable.Lookup(Keys(7, 0, 1, 192, surface: 1)).ShortName);
        Assert.Equal("kwbc", ParameterTable.Lookup(Keys(7, 0, 1, 192, surface: 1)).Source);
        Assert.Equal("unknown", ParameterTable.Lookup(Keys(54, 0, 1, 192, surface: 1)).ShortName);
        Assert.Same(ParameterInfo.Unknown, ParameterTable.Lookup(Keys(7, 0, 250, 250)));
    }

    [Theory]
    [InlineData(1, 255, "hPa", "surface")]
    [InlineData(100, 255, "hPa", "isobaricInhPa")]
    [InlineData(100, 255, "Pa", "isobaricInPa")]
    [InlineData(103, 255, "hPa", "heightAboveGround")]
    [InlineData(106, 106, "hPa", "depthBelowLandLayer")]
    [InlineData(101, 255, "hPa", "meanSea")]
    [InlineData(200, 255, "hPa", "atmosphereSingleLayer")]
    public void Should_name_level_types_as_ecCodes_when_given_the_fixed_surfaces(int first, int second, string units, string expected) =>
        Assert.Equal(expected, ParameterTable.TypeOfLevel(7, first, second, units));

    [Fact]
    public void Should_give_wgrib2_abbreviations_when_naming_for_idx_files()
    {
        Assert.Equal("TMP", Wgrib2Names.Lookup(7, 0, 0, 0));
        Assert.Equal("APCP", Wgrib2Names.Lookup(7, 0, 1, 8));
        Assert.Equal("UGRD", Wgrib2Names.Lookup(98, 0, 2, 2));
        Assert.Equal("var0_250_250", Wgrib2Names.Lookup(7, 0, 250, 250));
        Assert.True(ParameterTable.Count > 1000, $"only {ParameterTable.Count} parameters generated");
    }
}
