using Pipeline.Testing;
using Pipeline.Zarr.Grib;
using Xunit;

namespace Pipeline.Zarr.Tests.Grib;

public sealed class GridCoordinatesSpecs
{
    [SharedDataFact]
    public void Should_equal_the_point_by_point_coordinates_when_taking_rows_and_columns_of_regular_grids()
    {
        var checkedGrids = 0;
        foreach (var path in Directory.EnumerateFiles(SharedData.Data("grib2", "real")).Order(StringComparer.Ordinal))
        {
            IReadOnlyList<GribFieldRecord> records;
            try
            {
                records = GribFieldRecord.ReadFile(path);
            }
            catch (Exception e) when (e is Pipeline.Grib2.GribFormatException or NotSupportedException)
            {
                continue;
            }
            foreach (var f in records.Where(r => r.Layout == GridLayout.Regular).DistinctBy(r => r.GridKey))
            {
                var coords = GridCoordinates.Allocate(f);
                coords.Fill();
                var (lat, lon) = f.Grid.GetLatLons();
                var nx = (int)f.Grid.Nx;
                Assert.Equal(Enumerable.Range(0, (int)f.Grid.Ny).Select(j => lat[j * nx]), coords.Lat);
                Assert.Equal(lon[..nx], coords.Lon);
                checkedGrids++;
            }
        }
        Assert.True(checkedGrids >= 5, $"only {checkedGrids} regular grids in the corpus");
    }
}
