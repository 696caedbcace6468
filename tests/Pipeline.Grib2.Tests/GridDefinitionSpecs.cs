using Pipeline.Grib2.Grids;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

public sealed class GridDefinitionSpecs
{
    public static IEnumerable<object[]> Files() => GridTestSupport.CorpusFiles();

    [SharedDataTheory]
    [MemberData(nameof(Files))]
    public void Should_agree_with_ecCodes_summary_when_reading_every_corpus_grid(string file)
    {
        var fields = GridTestSupport.Walk(File.ReadAllBytes(GridTestSupport.Corpus(file)));
        Assert.NotEmpty(fields);
        foreach (var f in fields)
        {
            var exp = GridTestSupport.Expected(file, f.Message);
            var template = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(f.Section3.AsSpan(12));
            if (template == 150)
            {
                var ex = Assert.Throws<GribFormatException>(() => GridDefinition.Parse(f.Section3, f.Offset));
                Assert.Contains("3.150", ex.Message);
                continue;
            }
            var grid = GridDefinition.Parse(f.Section3, f.Offset);
            var where = $"{file} msg {f.Message}";
            Assert.True(exp.GetProperty("gridDefinitionTemplateNumber").GetInt32() == grid.TemplateNumber, where);
            if (exp.GetProperty("gridType").ValueKind == System.Text.Json.JsonValueKind.String)
                Assert.True(exp.GetProperty("gridType").GetString() == grid.GridType, $"{where}: gridType {grid.GridType}");
            if (exp.GetProperty("Nx").ValueKind == System.Text.Json.JsonValueKind.Number)
            {
                var nx = exp.GetProperty("Nx").GetInt64();
                Assert.True(nx == grid.Nx || (nx == int.MaxValue && grid.Nx == -1), $"{where}: Nx {grid.Nx}");
                Assert.True(exp.GetProperty("Ny").GetInt64() == grid.Ny, $"{where}: Ny {grid.Ny}");
            }
            Assert.True(exp.GetProperty("scanningMode").ValueKind != System.Text.Json.JsonValueKind.Number
                        || exp.GetProperty("scanningMode").GetInt32() == grid.Scanning.Value, $"{where}: scanning {grid.Scanning.Value}");
            if (!exp.TryGetProperty("first_latlon", out var first) || first.ValueKind != System.Text.Json.JsonValueKind.Array) continue;
            var last = exp.GetProperty("last_latlon");
            var (lat, lon) = grid.GetLatLons();
            Assert.Equal(exp.GetProperty("n_latlon").GetInt64(), lat.LongLength);
            AssertClose(first[0].GetDouble(), lat[0], $"{where} first lat");
            AssertClose(first[1].GetDouble(), lon[0], $"{where} first lon");
            AssertClose(last[0].GetDouble(), lat[^1], $"{where} last lat");
            AssertClose(last[1].GetDouble(), lon[^1], $"{where} last lon");
        }
    }

    public static IEnumerable<object[]> OnePerFamily() =>
    [
        ["gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"], // regular_ll, -180..
        ["pygrib__gfs.t12z.pgrbf120.2p5deg.grib2"], // regular_ll
        ["pygrib__reduced_latlon_surface.grib2"], // reduced_ll
        ["gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2"], // rotated_ll
        ["cfgrib__ds.waveh.5.grib"], // mercator, alternate rows
        ["gribberish__aqm.t12z.ave_1hr_o3-HI-mercator.grib2"], // mercator
        ["gribberish__aqm.t12z.ave_1hr_o3-AK-polar-stereographic.grib2"], // polar stereographic
        ["gribrs__CMC_RDPA_APCP-024-0100cutoff_SFC_0_ps10km_2023121806_000.grib2"], // polar stereographic
        ["pygrib__safrica.grib2"], // polar stereographic, south
        ["gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2"], // lambert
        ["pygrib__no-radius-shapeOfEarth-7.grb2"], // lambert, oblate
        ["pygrib__ds.maxt.bin"], // lambert, alternate rows
        ["cfgrib__regular_gg_ml_g2.grib"], // regular_gg
        ["gribrs__gdas.t00z.sfluxgrbf000.grib2.0"], // regular_gg N768
        ["earthkit__O32_global.grib2"], // reduced_gg
        ["satip__MSG3-SEVI-MSGCLMK-0100-0100-20200601120000.grb"], // space view
    ];

    [SharedDataTheory(Service.Python)]
    [MemberData(nameof(OnePerFamily))]
    public void Should_match_ecCodes_latitudes_and_longitudes_when_computing_every_point(string file)
    {
        var path = GridTestSupport.Corpus(file);
        var f = GridTestSupport.Walk(File.ReadAllBytes(path))[0];
        var grid = GridDefinition.Parse(f.Section3, f.Offset);
        var (lat, lon) = grid.GetLatLons();
        var (elat, elon) = GridTestSupport.EccodesLatLons(path, 1);
        Assert.Equal(elat.Length, lat.Length);
        var worstLat = 0.0;
        var worstLon = 0.0;
        var worstAt = -1;
        for (var k = 0; k < lat.Length; k++)
        {
            var dl = Math.Abs(lat[k] - elat[k]);
            var dn = Math.Abs(lon[k] - elon[k]);
            if (dn > 180) dn = Math.Abs(dn - 360);
            if (Math.Abs(elat[k]) > 89.9999) dn = 0; // longitude is arbitrary at a pole
            if (dl > worstLat) { worstLat = dl; worstAt = k; }
            if (dn > worstLon) { worstLon = dn; worstAt = k; }
        }
        Assert.True(worstLat <= 1e-6 && worstLon <= 1e-6,
            $"{grid.GridType}: worst lat diff {worstLat:g3}, lon diff {worstLon:g3} at point {worstAt} " +
            (worstAt >= 0 ? $"(ours {lat[worstAt]},{lon[worstAt]} ecCodes {elat[worstAt]},{elon[worstAt]})" : ""));
    }

    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-6 || Math.Abs(Math.Abs(expected - actual) - 360) <= 1e-6,
            $"{what}: expected {expected}, got {actual}");
}
