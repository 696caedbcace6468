using System.Globalization;
using System.Text.Json;
using Pipeline.Grib2.Indexing;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

public sealed class InventorySpecs
{
    public static IEnumerable<object[]> Files() => GridTestSupport.CorpusFiles();

    [SharedDataTheory]
    [MemberData(nameof(Files))]
    public void Should_list_every_message_as_ecCodes_does_when_building_an_inventory_of_a_corpus_file(string file)
    {
        var messages = GribFile.Read(GridTestSupport.Corpus(file));
        var entries = Inventory.Build(messages).Where(e => e.Field == 1).ToList();
        var expectedCount = Directory.GetFiles(SharedData.Data("grib2", "expected", file), "msg*.json").Length;
        Assert.Equal(expectedCount, entries.Count);
        foreach (var e in entries)
        {
            var exp = GridTestSupport.Expected(file, e.Message);
            var where = $"{file} msg {e.Message}";
            Assert.True(exp.GetProperty("offset").GetInt64() == e.Offset, $"{where}: offset {e.Offset}");
            Assert.True(exp.GetProperty("length").GetInt64() == e.Length, $"{where}: length {e.Length}");
            Assert.True(exp.GetProperty("discipline").GetInt32() == e.Discipline, where);
            Assert.True(exp.GetProperty("gridDefinitionTemplateNumber").GetInt32() == e.GridDefinitionTemplateNumber, where);
            if (exp.GetProperty("shortName").ValueKind != JsonValueKind.String) continue; // ecCodes could not read this one
            Assert.True(exp.GetProperty("shortName").GetString() == e.ShortName, $"{where}: shortName {e.ShortName}");
            Assert.True(Str(exp.GetProperty("typeOfLevel")) == e.TypeOfLevel, $"{where}: typeOfLevel {e.TypeOfLevel}");
            if (e.TypeOfLevel is not null)
                Assert.True(exp.GetProperty("level").GetInt64() == (long)Math.Round(e.Level!.Value), $"{where}: level {e.Level}");
            Assert.True(Str(exp.GetProperty("stepRange")) == e.StepRange, $"{where}: stepRange {e.StepRange}");
            Assert.True(exp.GetProperty("numberOfDataPoints").GetInt64() == e.NumberOfDataPoints, where);
            Assert.True(exp.GetProperty("numberOfValues").GetInt64() == e.NumberOfValues, where);
            if (exp.GetProperty("bitmapPresent").ValueKind == JsonValueKind.Number)
                Assert.True((exp.GetProperty("bitmapPresent").GetInt32() == 1) == e.BitmapPresent, where);
            Assert.True(exp.GetProperty("dataDate").GetString() == e.ReferenceTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture), where);
            var json = JsonDocument.Parse(e.ToJson()).RootElement;
            foreach (var key in new[] { "message", "offset", "length", "discipline", "parameterCategory", "parameterNumber", "shortName",
                         "typeOfLevel", "level", "gridDefinitionTemplateNumber", "productDefinitionTemplateNumber",
                         "dataRepresentationTemplateNumber", "numberOfDataPoints", "numberOfValues", "bitmapPresent", "referenceTime", "forecastTime" })
                Assert.True(json.TryGetProperty(key, out _), $"{where}: json lacks {key}");
        }
    }

    private static string? Str(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    [SharedDataFact]
    public void Should_name_fields_as_wgrib2_does_when_describing_a_GFS_file()
    {
        var entries = Inventory.Build(GribFile.Read(GridTestSupport.Corpus("pygrib__gfs.t12z.pgrbf120.2p5deg.grib2")));
        Assert.Equal(("HGT", "10 mb", "120 hour fcst"), (entries[0].Wgrib2Name, entries[0].Wgrib2Level, entries[0].Wgrib2Forecast));
        var apcp = entries.Single(e => e.Wgrib2Name == "APCP");
        Assert.Equal(("surface", "114-120 hour acc fcst"), (apcp.Wgrib2Level, apcp.Wgrib2Forecast));
        Assert.Contains(entries, e => e is { Wgrib2Name: "TMP", Wgrib2Level: "2 m above ground" });
        Assert.Contains(entries, e => e is { Wgrib2Name: "PRMSL", Wgrib2Level: "mean sea level" });
        Assert.Contains(entries, e => e.Wgrib2Level == "entire atmosphere (considered as a single layer)");
        // A message holding two fields (u and v) lists both, numbered N and N.2 at the same offset.
        var v = entries.First(e => e.Field == 2);
        var u = entries.Single(e => e.Message == v.Message && e.Field == 1);
        Assert.Equal((u.Offset, "UGRD", "VGRD"), (v.Offset, u.Wgrib2Name, v.Wgrib2Name));
    }
}
