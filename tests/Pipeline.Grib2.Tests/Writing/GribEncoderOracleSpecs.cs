using System.Runtime.InteropServices;
using System.Text.Json;
using Pipeline.Grib2.Writing;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests.Writing;

/// <summary>
/// The oracle: Debian's ecCodes (through python3-eccodes) and cfgrib read the messages our encoder writes and
/// find the same values, names, levels, steps and grid.
/// </summary>
public sealed class GribEncoderOracleSpecs
{
    /// <summary>Dumps, per message, the keys we check and the values (float64, NaN where missing) to OUT.f64.</summary>
    internal const string DumpScript = """
        import json, sys
        import numpy as np
        import eccodes
        path, out = sys.argv[1], sys.argv[2]
        rows, arrays = [], []
        with open(path, 'rb') as f:
            while True:
                h = eccodes.codes_grib_new_from_file(f)
                if h is None:
                    break
                try:
                    row = {}
                    for k in ['shortName', 'typeOfLevel', 'stepRange', 'gridType', 'dataDate', 'dataTime', 'centre']:
                        row[k] = str(eccodes.codes_get(h, k, ktype=str))
                    for k in ['level', 'Ni', 'Nj', 'bitmapPresent', 'numberOfValues', 'numberOfMissing', 'productionStatusOfProcessedData', 'typeOfProcessedData', 'endStep']:
                        row[k] = int(eccodes.codes_get(h, k, ktype=int))
                    for k in ['latitudeOfFirstGridPointInDegrees', 'longitudeOfFirstGridPointInDegrees', 'latitudeOfLastGridPointInDegrees', 'longitudeOfLastGridPointInDegrees', 'iDirectionIncrementInDegrees', 'jDirectionIncrementInDegrees']:
                        row[k] = float(eccodes.codes_get(h, k))
                    lats = eccodes.codes_get_array(h, 'latitudes')
                    lons = eccodes.codes_get_array(h, 'longitudes')
                    row['lat1'] = float(lats[1 + int(row['Ni'])])
                    row['lon1'] = float(lons[1 + int(row['Ni'])])
                    v = eccodes.codes_get_values(h).astype('<f8')
                    if row['bitmapPresent']:
                        v[v == eccodes.codes_get(h, 'missingValue')] = np.nan
                    arrays.append(v)
                    rows.append(row)
                finally:
                    eccodes.codes_release(h)
        np.concatenate(arrays).tofile(out)
        result = {'messages': rows}
        if len(sys.argv) > 3:
            import cfgrib
            names = {}
            for ds in cfgrib.open_datasets(path, backend_kwargs={'indexpath': ''}):
                for name, var in ds.data_vars.items():
                    names[name] = {'dims': list(var.dims), 'typeOfLevel': var.attrs.get('GRIB_typeOfLevel'), 'mean': float(var.mean())}
            result['cfgrib'] = names
        print(json.dumps(result))
        """;

    [ServiceFact(Service.Python)]
    public void Should_decode_to_the_same_values_and_keys_in_ecCodes_and_cfgrib_when_written_by_our_encoder()
    {
        var dir = Directory.CreateTempSubdirectory("encoder-oracle-");
        try
        {
            var path = Path.Combine(dir.FullName, "fields.grib2");
            var grid = RegularLatLonGrid.Global(2.5);
            var fields = new (GribProduct Product, SimplePackingSpec Packing, double Mean, double Amplitude, bool Holes)[]
            {
                (GribProduct.Temperature(GribLevel.HeightAboveGround(2)), SimplePackingSpec.Decimals(1), 250, 50, false),
                (GribProduct.UWind(GribLevel.HeightAboveGround(10)), SimplePackingSpec.Bits(12), -5, 20, false),
                (GribProduct.VWind(GribLevel.HeightAboveGround(10)), SimplePackingSpec.Bits(12), 3, 10, false),
                (GribProduct.PressureReducedToMsl(), SimplePackingSpec.Decimals(-1), 100000, 3000, false),
                (GribProduct.TotalPrecipitation(0, 12), SimplePackingSpec.Decimals(1), 2, 10, false),
                (GribProduct.GeopotentialHeight(GribLevel.IsobaricHectopascals(500)), SimplePackingSpec.Decimals(0), 5200, 600, false),
                (GribProduct.Temperature(GribLevel.IsobaricHectopascals(850)), new SimplePackingSpec(2, 16), 260, 30, true),
                (GribProduct.RelativeHumidity(GribLevel.IsobaricHectopascals(700)), SimplePackingSpec.Bits(8), 50, 40, false),
                (GribProduct.Pressure(GribLevel.Surface), SimplePackingSpec.Bits(16), 95000, 5000, false),
            };
            var expected = new List<double[]>();
            using (var w = GribWriter.Create(path))
            {
                for (var k = 0; k < fields.Length; k++)
                {
                    var f = fields[k];
                    var values = GribEncoderSpecs.Field(grid, f.Mean, f.Amplitude, k);
                    if (f.Holes)
                        for (var i = 0; i < values.Length; i += 5) values[i] = double.NaN;
                    var product = f.Product.Interval is null ? f.Product with { ForecastHours = 12 } : f.Product;
                    w.Write(new GribFieldSpec(new GribIdentity(7, GribEncoderSpecs.Reference) { ProductionStatus = 2 }, grid, product, f.Packing), values);
                    expected.Add(values);
                }
            }

            var json = PythonScript.Run(DumpScript, [path, Path.Combine(dir.FullName, "values.f64"), "cfgrib"]);
            using var doc = JsonDocument.Parse(json);
            var rows = doc.RootElement.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(fields.Length, rows.Count);
            Assert.Equal(
                ["2t", "10u", "10v", "prmsl", "tp", "gh", "t", "r", "sp"],
                rows.Select(r => r.GetProperty("shortName").GetString()));
            Assert.Equal(
                ["heightAboveGround", "heightAboveGround", "heightAboveGround", "meanSea", "surface", "isobaricInhPa", "isobaricInhPa", "isobaricInhPa", "surface"],
                rows.Select(r => r.GetProperty("typeOfLevel").GetString()));
            Assert.Equal([2, 10, 10, 0, 0, 500, 850, 700, 0], rows.Select(r => r.GetProperty("level").GetInt32()));
            Assert.Equal(["12", "12", "12", "12", "0-12", "12", "12", "12", "12"], rows.Select(r => r.GetProperty("stepRange").GetString()));
            // Every message: same grid, reference time, identification.
            var ours = Inventory(path);
            for (var k = 0; k < rows.Count; k++)
            {
                var r = rows[k];
                Assert.Equal("regular_ll", r.GetProperty("gridType").GetString());
                Assert.Equal("20260115", r.GetProperty("dataDate").GetString());
                Assert.Equal("1200", r.GetProperty("dataTime").GetString());
                Assert.Equal("kwbc", r.GetProperty("centre").GetString());
                Assert.Equal(2, r.GetProperty("productionStatusOfProcessedData").GetInt32());
                Assert.Equal((144, 73), (r.GetProperty("Ni").GetInt32(), r.GetProperty("Nj").GetInt32()));
                Assert.Equal(90.0, r.GetProperty("latitudeOfFirstGridPointInDegrees").GetDouble());
                Assert.Equal(-90.0, r.GetProperty("latitudeOfLastGridPointInDegrees").GetDouble());
                Assert.Equal(0.0, r.GetProperty("longitudeOfFirstGridPointInDegrees").GetDouble());
                Assert.Equal(357.5, r.GetProperty("longitudeOfLastGridPointInDegrees").GetDouble());
                Assert.Equal(2.5, r.GetProperty("iDirectionIncrementInDegrees").GetDouble());
                Assert.Equal((87.5, 2.5), (r.GetProperty("lat1").GetDouble(), r.GetProperty("lon1").GetDouble()));
                Assert.Equal(ours[k].ShortName, r.GetProperty("shortName").GetString());
                Assert.Equal(ours[k].StepRange, r.GetProperty("stepRange").GetString());
                Assert.Equal(fields[k].Holes ? 1 : 0, r.GetProperty("bitmapPresent").GetInt32());
            }

            var eccodesValues = MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(Path.Combine(dir.FullName, "values.f64"))).ToArray();
            var messages = GribFile.Read(path);
            var at = 0;
            for (var k = 0; k < fields.Length; k++)
            {
                var mine = messages[k].Fields[0].DecodeValues();
                var theirs = eccodesValues.AsSpan(at, mine.Length);
                at += mine.Length;
                var range = expected[k].Where(v => !double.IsNaN(v)).Max() - expected[k].Where(v => !double.IsNaN(v)).Min();
                for (var i = 0; i < mine.Length; i++)
                {
                    if (double.IsNaN(expected[k][i]))
                    {
                        Assert.True(double.IsNaN(theirs[i]), $"{rows[k].GetProperty("shortName")} point {i}: ecCodes has {theirs[i]} where the value is missing");
                        continue;
                    }
                    // ecCodes and our decoder agree to rounding; both are within the packing precision of the input.
                    Assert.True(Math.Abs(mine[i] - theirs[i]) <= 1e-9 * Math.Max(1, Math.Abs(theirs[i])),
                        $"{rows[k].GetProperty("shortName")} point {i}: ours {mine[i]}, ecCodes {theirs[i]}");
                    Assert.True(Math.Abs(expected[k][i] - theirs[i]) <= range / 200,
                        $"{rows[k].GetProperty("shortName")} point {i}: written {expected[k][i]}, ecCodes {theirs[i]}");
                }
            }
            Assert.Equal(eccodesValues.Length, at);

            var cf = doc.RootElement.GetProperty("cfgrib");
            foreach (var name in new[] { "t2m", "u10", "v10", "prmsl", "tp", "gh", "t", "r", "sp" })
                Assert.True(cf.TryGetProperty(name, out _), $"cfgrib did not find {name}: it has {cf}");
            Assert.Equal(["latitude", "longitude"], cf.GetProperty("t2m").GetProperty("dims").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(expected[0].Average(), cf.GetProperty("t2m").GetProperty("mean").GetDouble(), 1);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static IReadOnlyList<Indexing.InventoryEntry> Inventory(string path) => Indexing.Inventory.Build(GribFile.Read(path));
}
