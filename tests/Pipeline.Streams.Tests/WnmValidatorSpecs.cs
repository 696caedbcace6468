using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Streams.Wis2;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests;

public sealed class WnmValidatorSpecs
{
    internal static readonly Wis2Topic Topic = new("ca-eccc-msc", "medium-range", Probabilistic: false);

    internal static WnmRequest Request(Action<WnmRequest>? _ = null) =>
        new(Topic, "gdps/2026-11-01T00Z/TMP_AGL-2m.zarr", new Uri("https://data.example.org/zarr/gdps/2026-11-01T00Z/TMP_AGL-2m.zarr"),
            "application/vnd+zarr", 123_456, SHA512.HashData("payload"u8))
        {
            Datetime = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero),
            Bounds = new BoundingBox(-180, -90, 180, 90),
            MetadataId = "urn:wmo:md:ca-eccc-msc:gdps",
        };

    private static string Valid() => new WnmBuilder().Build(Request()).Json;

    /// <summary>Mutations that each break one rule of the official schema.</summary>
    public static IEnumerable<(string Name, string Json)> SchemaBreakers()
    {
        string Mutate(Action<JsonObject> change)
        {
            var node = JsonNode.Parse(Valid())!.AsObject();
            change(node);
            return node.ToJsonString();
        }
        JsonObject Props(JsonObject o) => o["properties"]!.AsObject();
        yield return ("id not uuid", Mutate(o => o["id"] = "not-a-uuid"));
        yield return ("no id", Mutate(o => o.Remove("id")));
        yield return ("conformsTo without core", Mutate(o => o["conformsTo"] = new JsonArray("http://example.org")));
        yield return ("both conformsTo and version", Mutate(o => o["version"] = "v04"));
        yield return ("type not Feature", Mutate(o => o["type"] = "FeatureCollection"));
        yield return ("no geometry", Mutate(o => o.Remove("geometry")));
        yield return ("geometry LineString", Mutate(o => o["geometry"] = JsonNode.Parse("{\"type\":\"LineString\",\"coordinates\":[[0,0],[1,1]]}")));
        yield return ("polygon ring of 3", Mutate(o => o["geometry"] = JsonNode.Parse("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[0,0]]]}")));
        yield return ("point of 1 number", Mutate(o => o["geometry"] = JsonNode.Parse("{\"type\":\"Point\",\"coordinates\":[1]}")));
        yield return ("no pubtime", Mutate(o => Props(o).Remove("pubtime")));
        yield return ("no data_id", Mutate(o => Props(o).Remove("data_id")));
        yield return ("no datetime", Mutate(o => Props(o).Remove("datetime")));
        yield return ("datetime and range", Mutate(o => { Props(o)["start_datetime"] = "2026-11-01T00:00:00Z"; Props(o)["end_datetime"] = "2026-11-02T00:00:00Z"; }));
        yield return ("integrity md5", Mutate(o => Props(o)["integrity"]!["method"] = "md5"));
        yield return ("integrity without value", Mutate(o => Props(o)["integrity"]!.AsObject().Remove("value")));
        yield return ("content too big", Mutate(o => Props(o)["content"] = JsonNode.Parse("{\"encoding\":\"utf-8\",\"value\":\"x\",\"size\":5000}")));
        yield return ("content bad encoding", Mutate(o => Props(o)["content"] = JsonNode.Parse("{\"encoding\":\"zip\",\"value\":\"x\",\"size\":1}")));
        yield return ("cache not bool", Mutate(o => Props(o)["cache"] = "no"));
        yield return ("links empty", Mutate(o => o["links"] = new JsonArray()));
        yield return ("link without href", Mutate(o => o["links"]![0]!.AsObject().Remove("href")));
        yield return ("link length string", Mutate(o => o["links"]![0]!["length"] = "12"));
        yield return ("not an object", "[1,2,3]");
    }

    [Fact]
    public void Should_build_a_message_with_no_issues_when_the_request_is_complete()
    {
        var id = Guid.Parse("7f0e4f2e-5d4b-4c3a-9a1b-0c2d3e4f5a6b");
        var clock = new FixedClock(new DateTimeOffset(2026, 11, 1, 3, 4, 5, TimeSpan.Zero));
        var message = new WnmBuilder(clock, () => id).Build(Request());

        Assert.Empty(WnmValidator.Validate(message.Json, message.Topic));
        Assert.Equal("origin/a/wis2/ca-eccc-msc/data/core/weather/prediction/forecast/medium-range/deterministic", message.Topic);
        using var doc = JsonDocument.Parse(message.Json);
        var p = doc.RootElement.GetProperty("properties");
        Assert.Equal("ca-eccc-msc/data/core/weather/prediction/forecast/medium-range/deterministic/gdps/2026-11-01T00Z/TMP_AGL-2m.zarr",
            p.GetProperty("data_id").GetString());
        Assert.Equal("2026-11-01T03:04:05Z", p.GetProperty("pubtime").GetString());
        Assert.Equal(Convert.ToBase64String(SHA512.HashData("payload"u8)), p.GetProperty("integrity").GetProperty("value").GetString());
        Assert.Equal(id.ToString(), doc.RootElement.GetProperty("id").GetString());
        Assert.Equal(5, doc.RootElement.GetProperty("geometry").GetProperty("coordinates")[0].GetArrayLength());
        Assert.False(p.TryGetProperty("content", out _));
        var link = Assert.Single(doc.RootElement.GetProperty("links").EnumerateArray());
        Assert.Equal(123_456, link.GetProperty("length").GetInt64());
    }

    [Fact]
    public void Should_add_a_via_link_to_the_original_after_the_canonical_one_when_the_request_has_further_links()
    {
        var source = new Uri("https://dd.example.org/ofs/cbofs.t00z.20241124.fields.f001.nc");
        var message = new WnmBuilder().Build(Request() with { OtherLinks = [new WnmLink("via", source, "application/x-netcdf4")] });
        Assert.Empty(WnmValidator.Validate(message.Json, message.Topic));
        var links = JsonNode.Parse(message.Json)!["links"]!.AsArray();
        Assert.Equal("canonical", links[0]!["rel"]!.GetValue<string>());
        Assert.Equal("via", links[1]!["rel"]!.GetValue<string>());
        Assert.Equal(source.AbsoluteUri, links[1]!["href"]!.GetValue<string>());
        Assert.Equal("application/x-netcdf4", links[1]!["type"]!.GetValue<string>());
        var e = Assert.Throws<ArgumentException>(() => new WnmBuilder().Build(Request() with { OtherLinks = [new WnmLink("update", source, "application/netcdf")] }));
        Assert.Contains("update", e.Message);
    }

    [Fact]
    public void Should_inline_content_only_when_it_is_small()
    {
        var small = new WnmBuilder().Build(Request() with { Content = new byte[100] });
        var large = new WnmBuilder().Build(Request() with { Content = new byte[4000] });
        Assert.Contains("\"content\"", small.Json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"content\"", large.Json, StringComparison.Ordinal);
        Assert.Empty(WnmValidator.Validate(small.Json, small.Topic));
    }

    [Fact]
    public void Should_refuse_to_build_when_the_request_breaks_a_requirement()
    {
        var b = new WnmBuilder();
        Assert.Contains("centre-id", Assert.Throws<ArgumentException>(() => b.Build(Request() with { Topic = Topic with { CentreId = "CA ECCC" } })).Message, StringComparison.Ordinal);
        Assert.Contains("forecast range", Assert.Throws<ArgumentException>(() => b.Build(Request() with { Topic = Topic with { Range = "weekly" } })).Message, StringComparison.Ordinal);
        Assert.Contains("64 bytes", Assert.Throws<ArgumentException>(() => b.Build(Request() with { Sha512 = new byte[16] })).Message, StringComparison.Ordinal);
        Assert.Contains("Datetime", Assert.Throws<ArgumentException>(() => b.Build(Request() with { Datetime = null })).Message, StringComparison.Ordinal);
        Assert.Contains("8192", Assert.Throws<ArgumentException>(() => b.Build(Request() with { MetadataId = new string('m', 9000) })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_report_the_path_when_a_profile_rule_is_broken()
    {
        var json = Valid();
        var twoLinks = JsonNode.Parse(json)!.AsObject();
        twoLinks["links"]!.AsArray().Add(JsonNode.Parse("{\"rel\":\"update\",\"href\":\"https://x.org/a\",\"type\":\"a/b\",\"length\":1}"));
        Assert.Contains(WnmValidator.Validate(twoLinks.ToJsonString()), i => i.Rule == WnmRule.Profile && i.Path == "$.links" && i.Message.Contains("found 2", StringComparison.Ordinal));

        var badTime = json.Replace("\"datetime\":\"2026-11-01T00:00:00Z\"", "\"datetime\":\"01/11/2026\"", StringComparison.Ordinal);
        Assert.Contains(WnmValidator.Validate(badTime), i => i.Path == "$.properties.datetime" && i.Rule == WnmRule.Profile);

        Assert.Contains(WnmValidator.Validate(json, "origin/a/wis2/ca-eccc-msc/data/core/weather/surface-based-observations/synop"), i => i.Path == "topic");
        Assert.Contains(WnmValidator.Validate("{\"truncated\":"), i => i.Path == "$" && i.Message.StartsWith("not JSON", StringComparison.Ordinal));
    }

    [SharedDataFact(Service.Python)]
    public async Task Should_agree_with_the_official_schema_when_checking_examples_our_messages_and_broken_ones()
    {
        var cases = new List<(string Name, string Json)>();
        foreach (var file in Directory.EnumerateFiles(SharedData.Data("wis2"), "wnm-*.json").Where(f => !f.EndsWith("wnm-schema.json", StringComparison.Ordinal)).Order())
            cases.Add((Path.GetFileName(file), await File.ReadAllTextAsync(file)));
        var ours = new WnmBuilder();
        cases.Add(("ours instant", ours.Build(Request()).Json));
        cases.Add(("ours range + content", ours.Build(Request() with { Datetime = null, Start = DateTimeOffset.UnixEpoch, End = DateTimeOffset.UnixEpoch.AddHours(6), Content = new byte[10], Bounds = null }).Json));
        cases.Add(("ours deletion", ours.Build(Request() with { Relation = "deletion" }).Json));
        cases.AddRange(SchemaBreakers());

        var verdicts = await OfficialSchema.ValidateAsync(cases.Select(c => c.Json).ToList());
        for (var i = 0; i < cases.Count; i++)
        {
            var mine = WnmValidator.SchemaIssues(cases[i].Json);
            Assert.True(mine.Count == 0 == (verdicts[i] is null),
                $"{cases[i].Name}: official schema says {verdicts[i] ?? "valid"}; ours says {(mine.Count == 0 ? "valid" : string.Join("; ", mine))}");
        }
        Assert.Equal(4 + 3, verdicts.Count(v => v is null));
        // The examples pass the schema but not our publishing profile (no link length, hex integrity, no integrity).
        Assert.Contains(WnmValidator.Validate(cases.First(c => c.Name == "wnm-eumetsat-msg-seviri-core-notification.json").Json),
            i => i.Path == "$.properties.integrity.value");
    }
}

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>Runs the official WNM schema through Python's jsonschema (Draft 2020-12, with the format checker).</summary>
internal static class OfficialSchema
{
    private const string Script = """
        import json, sys
        from jsonschema import Draft202012Validator
        schema = json.load(open(sys.argv[1]))
        v = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        out = []
        for line in open(sys.argv[2]):
            try:
                doc = json.loads(line)
            except Exception as e:
                out.append("not JSON: %s" % e); continue
            errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
            out.append(None if not errors else "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message[:200]) for e in errors))
        print(json.dumps(out))
        """;

    /// <summary>Null for a valid document, else the schema's complaint, one per input.</summary>
    public static async Task<IReadOnlyList<string?>> ValidateAsync(IReadOnlyList<string> documents)
    {
        var dir = Directory.CreateTempSubdirectory("wnm-");
        try
        {
            var script = Path.Combine(dir.FullName, "check.py");
            var input = Path.Combine(dir.FullName, "docs.jsonl");
            await File.WriteAllTextAsync(script, Script);
            await File.WriteAllLinesAsync(input, documents.Select(d => JsonNode.Parse(d) is { } n ? n.ToJsonString() : d));
            var (code, output) = await BrokerFixtures.RunAsync(TestServices.Python, [script, SharedData.Data("wis2", "wnm-schema.json"), input]);
            Assert.True(code == 0, $"python jsonschema failed: {output}");
            return JsonSerializer.Deserialize<List<string?>>(output.Trim().Split('\n')[^1])!;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
