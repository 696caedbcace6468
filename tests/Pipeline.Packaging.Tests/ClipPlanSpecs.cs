using Pipeline.Packaging.Boundaries;
using Pipeline.Packaging.Processing;
using Pipeline.Testing;
using Pipeline.Zarr.Grib;
using Xunit;

namespace Pipeline.Packaging.Tests;

/// <summary>
/// Clip plans on real grids of the shared corpus: every cell of the plan maps to the source point with the same
/// coordinates, a cell is marked inside exactly when its centre is in the polygon, and no source point inside the
/// polygon is left out of the window.
/// </summary>
public sealed class ClipPlanSpecs
{
    public static TheoryData<string, string> Grids => new()
    {
        { "cfgrib__regular_gg_ml_g2.grib", """[[[-20, 30], [30, 30], [40, 60], [-10, 70], [-20, 30]]]""" },
        { "earthkit__O32_global.grib2", """[[[100, -40], [150, -40], [150, -10], [100, -10], [100, -40]]]""" },
        { "gribrs__20260219T00Z_MSC_HRDPS_CAPE_Sfc_RLatLon0.0225_PT000H.grib2", """[[[-80, 44], [-72, 44], [-70, 48], [-78, 49], [-80, 44]]]""" },
        { "gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2", """[[[-105, 35], [-95, 35], [-95, 42], [-100, 45], [-105, 35]]]""" },
        { "gribrs__CMC_RDPA_APCP-024-0100cutoff_SFC_0_ps10km_2023121806_000.grib2", """[[[-100, 50], [-90, 50], [-90, 55], [-100, 55], [-100, 50]]]""" },
        { "gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2", """[[[-10, -10], [10, -10], [0, 10], [-10, -10]]]""" },
    };

    [Theory]
    [MemberData(nameof(Grids))]
    public void Should_cover_every_point_inside_the_polygon_and_mask_the_rest_when_clipping_a_real_grid(string file, string coordinates)
    {
        if (SharedData.Root is null) return; // the corpus is optional outside the harness
        var record = GribFieldRecord.ReadFile(SharedData.Data("grib2", "real", file))[0];
        var boundary = GeoJsonBoundaries.Parse($$"""{ "type": "Polygon", "coordinates": {{coordinates}} }""", "area").Single();
        var (lat, lon) = record.Grid.GetLatLons();
        double[] planLat = lat, planLon = lon;
        if (record.Layout == GridLayout.Regular)
        {
            var nx = (int)record.Grid.Nx;
            planLat = [.. Enumerable.Range(0, (int)record.Grid.Ny).Select(j => lat[j * nx])];
            planLon = lon[..nx];
        }
        var plan = ClipPlan.For(record.Layout, planLat, planLon, record.Grid.Ny, record.Grid.Nx, boundary);
        Assert.NotNull(plan);
        Assert.True(plan.InsideCount > 0, $"{file}: no point inside");
        Assert.True(plan.InsideCount < plan.Cells || record.Layout == GridLayout.Values, $"{file}: nothing masked");

        var inside = 0;
        for (var p = 0; p < lat.Length; p++) if (RayCast(boundary, lat[p], lon[p])) inside++;
        Assert.Equal(inside, plan.InsideCount);
        for (var k = 0; k < plan.Cells; k++)
        {
            var s = plan.SourceOf(k);
            Assert.Equal(RayCast(boundary, lat[s], lon[s]), plan.Inside[k]);
        }

        // Values: inside cells carry the source value, the others NaN.
        var source = record.DecodeFloat32();
        var clipped = new float[plan.Cells];
        plan.Apply(source, clipped);
        for (var k = 0; k < plan.Cells; k++)
        {
            if (plan.Inside[k]) Assert.Equal(source[plan.SourceOf(k)], clipped[k]);
            else Assert.True(float.IsNaN(clipped[k]));
        }
    }

    /// <summary>An independent even-odd test (outer ring only; the corpus boundaries have no holes).</summary>
    private static bool RayCast(Boundary b, double lat, double lon)
    {
        var ring = b.Polygons[0].Outer;
        var x = ((lon - b.Box.West) % 360 + 360) % 360 + b.Box.West;
        var odd = false;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            var (xi, yi, xj, yj) = (ring.Lon[i], ring.Lat[i], ring.Lon[j], ring.Lat[j]);
            if ((yi > lat) != (yj > lat) && x < (xj - xi) * (lat - yi) / (yj - yi) + xi) odd = !odd;
        }
        return odd;
    }
}
