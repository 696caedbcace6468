using Pipeline.Grib2.Grids;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>Every scanning-mode flag combination on grids ecCodes encodes for us, compared point by point.</summary>
public sealed class GridScanningSpecs
{
    private const string Script = """
        import eccodes, numpy as np, sys, os
        out = sys.argv[1]
        def dump(h, name):
            with open(os.path.join(out, name + '.grib2'), 'wb') as f: eccodes.codes_write(h, f)
            la = eccodes.codes_get_array(h, 'latitudes').astype('<f8'); lo = eccodes.codes_get_array(h, 'longitudes').astype('<f8')
            with open(os.path.join(out, name + '.ll'), 'wb') as f: f.write(la.tobytes()); f.write(lo.tobytes())
        for mode in range(16):
            ineg, jpos, jcons, alt = (mode >> 3) & 1, (mode >> 2) & 1, (mode >> 1) & 1, mode & 1
            h = eccodes.codes_grib_new_from_samples('regular_ll_sfc_grib2')
            lat1, lat2 = (10.0, 16.0) if jpos else (16.0, 10.0)
            lon1, lon2 = (28.0, 20.0) if ineg else (20.0, 28.0)
            for k, v in [('Ni', 5), ('Nj', 4), ('iScansNegatively', ineg), ('jScansPositively', jpos), ('jPointsAreConsecutive', jcons),
                         ('alternativeRowScanning', alt), ('latitudeOfFirstGridPointInDegrees', lat1), ('longitudeOfFirstGridPointInDegrees', lon1),
                         ('latitudeOfLastGridPointInDegrees', lat2), ('longitudeOfLastGridPointInDegrees', lon2),
                         ('iDirectionIncrementInDegrees', 2.0), ('jDirectionIncrementInDegrees', 2.0)]:
                eccodes.codes_set(h, k, v)
            eccodes.codes_set_values(h, np.arange(20.0))
            dump(h, f'll{mode}')
        for mode in (0, 64, 128, 192, 80):
            h = eccodes.codes_grib_new_from_samples('GRIB2')
            eccodes.codes_set(h, 'gridDefinitionTemplateNumber', 30)
            for k, v in [('shapeOfTheEarth', 6), ('Nx', 10), ('Ny', 8), ('latitudeOfFirstGridPoint', 20000000), ('longitudeOfFirstGridPoint', 250000000),
                         ('LaD', 40000000), ('LoV', 260000000), ('Latin1', 30000000), ('Latin2', 50000000), ('Dx', 50000000), ('Dy', 50000000), ('scanningMode', mode)]:
                eccodes.codes_set(h, k, v)
            eccodes.codes_set_values(h, np.arange(80.0))
            dump(h, f'lambert{mode}')
        for mode in (0, 64, 128, 192):
            h = eccodes.codes_grib_new_from_samples('polar_stereographic_sfc_grib2')
            eccodes.codes_set(h, 'scanningMode', mode)
            dump(h, f'polar{mode}')
        dump(eccodes.codes_grib_new_from_samples('reduced_gg_pl_32_grib2'), 'gg0')
        dump(eccodes.codes_grib_new_from_samples('rotated_ll_sfc_grib2'), 'rotated')
        h = eccodes.codes_grib_new_from_samples('rotated_ll_sfc_grib2')
        eccodes.codes_set(h, 'jPointsAreConsecutive', 1)
        dump(h, 'rotatedj')
        dump(eccodes.codes_grib_new_from_samples('regular_gg_sfc_grib2'), 'regulargg')
        """;

    private static readonly Lazy<string> Fixtures = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"grid-scan-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        GridTestSupport.RunPython(Script, dir);
        return dir;
    });

    public static IEnumerable<object[]> Cases() =>
        Enumerable.Range(0, 16).Select(m => new object[] { $"ll{m}" })
            .Concat(new[] { 0, 64, 128, 192, 80 }.Select(m => new object[] { $"lambert{m}" }))
            .Concat(new[] { 0, 64, 128, 192 }.Select(m => new object[] { $"polar{m}" }))
            .Concat([["gg0"]])
            .Concat([["rotated"], ["rotatedj"], ["regulargg"]]);

    [ServiceTheory(Service.Python)]
    [MemberData(nameof(Cases))]
    public void Should_place_points_as_ecCodes_does_when_the_scanning_mode_varies(string name)
    {
        var dir = Fixtures.Value;
        var field = GridTestSupport.Walk(File.ReadAllBytes(Path.Combine(dir, name + ".grib2")))[0];
        var grid = GridDefinition.Parse(field.Section3);
        var (lat, lon) = grid.GetLatLons();
        var raw = File.ReadAllBytes(Path.Combine(dir, name + ".ll"));
        var n = raw.Length / 16;
        Assert.Equal(n, lat.Length);
        for (var k = 0; k < n; k++)
        {
            var elat = BitConverter.ToDouble(raw, k * 8);
            var elon = BitConverter.ToDouble(raw, (n + k) * 8);
            Assert.True(Math.Abs(elat - lat[k]) < 1e-6 && Math.Abs(elon - lon[k]) < 1e-6,
                $"{name} (scanning {grid.Scanning.Value}) point {k}: ecCodes ({elat}, {elon}), ours ({lat[k]}, {lon[k]})");
        }
    }
}

public sealed class GridIteratorOrderSpecs
{
    [SharedDataTheory(Service.Python)]
    [InlineData("pygrib__ds.maxt.bin")] // Lambert, rows alternate direction (scanning mode 80)
    [InlineData("pygrib__dspr.temp.bin")] // Mercator, scanning mode 80
    public void Should_pair_values_with_coordinates_as_ecCodes_when_reordering_to_iterator_order(string file)
    {
        var path = GridTestSupport.Corpus(file);
        var field = GribFile.Read(path)[0].Fields[0];
        var grid = GridDefinition.Parse(field.Section3.Span);
        var values = field.DecodeValues();
        grid.Scanning.ToIteratorOrder(values, grid.Nx, grid.Ny);
        var tmp = Path.Combine(Path.GetTempPath(), $"grid-iter-{Guid.NewGuid():N}.f64");
        try
        {
            GridTestSupport.RunPython("""
                import eccodes, numpy as np, sys
                with open(sys.argv[1], 'rb') as f:
                    h = eccodes.codes_grib_new_from_file(f)
                    it = eccodes.codes_grib_iterator_new(h, 0)
                    out = []
                    while True:
                        r = eccodes.codes_grib_iterator_next(it)
                        if not r: break
                        out.append(r[2])
                    np.array(out, dtype='<f8').tofile(sys.argv[2])
                """, path, tmp);
            var raw = File.ReadAllBytes(tmp);
            var expected = new double[raw.Length / 8];
            Buffer.BlockCopy(raw, 0, expected, 0, raw.Length);
            Assert.Equal(expected.Length, values.Length);
            var compared = 0;
            for (var k = 0; k < values.Length; k++)
            {
                if (double.IsNaN(values[k]) || expected[k] == 9999) continue;
                compared++;
                Assert.True(Math.Abs(values[k] - expected[k]) <= 1e-6 * Math.Max(1, Math.Abs(expected[k])),
                    $"{file} point {k}: ecCodes iterator {expected[k]}, ours {values[k]}");
            }
            Assert.True(compared > values.Length / 10, $"only {compared} points compared");
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}
