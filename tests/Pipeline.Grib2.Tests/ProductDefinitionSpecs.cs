using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Pipeline.Grib2.Grids;
using Pipeline.Grib2.Products;
using Pipeline.Grib2.Tables;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

public sealed class ProductDefinitionSpecs
{
    public static IEnumerable<object[]> Files() => GridTestSupport.CorpusFiles();

    [SharedDataTheory]
    [MemberData(nameof(Files))]
    public void Should_agree_with_ecCodes_on_names_levels_and_steps_when_reading_every_corpus_product(string file)
    {
        var fields = GridTestSupport.Walk(File.ReadAllBytes(GridTestSupport.Corpus(file)));
        var problems = new List<string>();
        foreach (var f in fields)
        {
            var exp = GridTestSupport.Expected(file, f.Message);
            if (exp.GetProperty("shortName").ValueKind != JsonValueKind.String) continue; // ecCodes could not read it
            var centre = BinaryPrimitives.ReadUInt16BigEndian(f.Section1.AsSpan(5));
            var localTables = f.Section1[10];
            var p = ProductDefinition.ParseLenient(f.Section4, f.Offset);
            var grid = BinaryPrimitives.ReadUInt16BigEndian(f.Section3.AsSpan(12));
            var info = ParameterTable.Lookup(p.ConceptKeys(centre, f.Discipline, localTables, grid));
            var (level, typeOfLevel) = p.Level(centre);
            var where = $"msg {f.Message} (4.{p.TemplateNumber} d{f.Discipline} c{p.ParameterCategory} n{p.ParameterNumber})";
            Check(problems, where, "productDefinitionTemplateNumber", exp, p.TemplateNumber.ToString(CultureInfo.InvariantCulture));
            Check(problems, where, "parameterCategory", exp, p.ParameterCategory.ToString(CultureInfo.InvariantCulture));
            Check(problems, where, "parameterNumber", exp, p.ParameterNumber.ToString(CultureInfo.InvariantCulture));
            Check(problems, where, "shortName", exp, info.ShortName);
            Check(problems, where, "typeOfLevel", exp, typeOfLevel);
            if (typeOfLevel is not null)
                Check(problems, where, "level", exp, ((long)Math.Round(level)).ToString(CultureInfo.InvariantCulture));
            Check(problems, where, "stepRange", exp, p.StepRange);
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
    }

    private static void Check(List<string> problems, string where, string key, JsonElement exp, string? actual)
    {
        var e = exp.GetProperty(key);
        var expected = e.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => e.GetString(),
            _ => e.GetRawText(),
        };
        if (expected != actual) problems.Add($"{where}: {key} expected {expected ?? "null"}, got {actual ?? "null"}");
    }
}
