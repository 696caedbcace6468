using System.Text.Json;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests;

public sealed class SarraceniaParserSpecs
{
    private const string RelPath = "20230527/WXO-DD/model_gem_regional/10km/grib2/12/037/CMC_reg_WIND_ISBL_30_ps10km_2023052712_P037.grib2";

    [SharedDataFact]
    public async Task Should_read_the_logged_datamart_v03_message_when_identity_is_md5()
    {
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(SharedData.Data("messages", "sarracenia-v03-example.json")));
        var body = doc.RootElement.GetProperty("body").GetRawText();
        var topic = doc.RootElement.GetProperty("amqp_topic_v03").GetString();

        var a = Assert.Single(Assert.IsType<ParseResult.Parsed>(SarraceniaV03Parser.Instance.Parse(new InboundMessage("dd", topic, body))).Announcements);

        Assert.Equal(RelPath, a.RelPath);
        Assert.Equal(RelPath, a.DataId);
        Assert.Equal(new Uri("https://hpfx.collab.science.gc.ca/" + RelPath), a.Location);
        Assert.Equal(554100, a.Size);
        Assert.Equal(new Integrity("md5", "U1vVZnatrCeK3bLrXshb2g=="), a.Integrity);
        Assert.Equal(new DateTimeOffset(2023, 5, 27, 14, 55, 20, 791, TimeSpan.Zero), a.PublishedAt);
        Assert.Equal(topic, a.Topic);
        Assert.Equal(body, a.RawMessage);
        Assert.Null(a.Relation);
    }

    [SharedDataFact]
    public async Task Should_read_the_v02_example_with_the_same_meaning_as_its_v03_twin()
    {
        var lines = await File.ReadAllLinesAsync(SharedData.Data("messages", "sarracenia-v02-example.txt"));
        var body = lines.Single(l => l.StartsWith("body: ", StringComparison.Ordinal))["body: ".Length..];
        var topic = lines.Single(l => l.StartsWith("routing key", StringComparison.Ordinal)).Split(": ", 2)[1];
        var headers = lines.SkipWhile(l => !l.StartsWith("application headers", StringComparison.Ordinal)).Skip(1)
            .Select(l => l.Trim().Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

        var a = Assert.Single(Assert.IsType<ParseResult.Parsed>(SarraceniaV02Parser.Instance.Parse(new InboundMessage("dd", topic, body, headers))).Announcements);

        Assert.Equal(RelPath, a.RelPath);
        Assert.Equal(554100, a.Size);
        // sum=d,<md5 hex> is the same checksum as v03's base64 identity.
        Assert.Equal(new Integrity("md5", "U1vVZnatrCeK3bLrXshb2g=="), a.Integrity);
        Assert.Equal(new DateTimeOffset(2023, 5, 27, 14, 55, 20, 791, TimeSpan.Zero), a.PublishedAt);
        Assert.Equal(AnnouncementFormats.SarraceniaV02, a.Format);
    }

    [Theory]
    [InlineData("s,", "sha512")]
    [InlineData("n,535bd56676adac278addb2eb5ec85bda", "md5name")]
    [InlineData("z,d", "cod")]
    [InlineData("0,7", "random")]
    public void Should_map_every_v02_sum_letter_when_it_names_a_checksum(string sum, string method)
    {
        if (sum == "s,") sum += new string('a', 128);
        var result = SarraceniaV02Parser.Instance.Parse(new InboundMessage("s", "v02.post.x", "20251106123456 https://h.org /a/b",
            new Dictionary<string, string> { ["sum"] = sum, ["parts"] = "1,10,1,0,0" }));
        Assert.Equal(method, Assert.IsType<ParseResult.Parsed>(result).Announcements[0].Integrity!.Method);
    }

    [Theory]
    [InlineData("{\"pubTime\":\"20251106T123456.789\",\"baseUrl\":\"https://h.org\",\"relPath\":\"a/b\",\"integrity\":{\"method\":\"sha512\",\"value\":\"" + "AAAA" + "\"}}", "'integrity.value'")]
    [InlineData("{\"pubTime\":\"20251106T123456.789\",\"baseUrl\":\"notaurl\",\"relPath\":\"a/b\"}", "'baseUrl + relPath'")]
    [InlineData("{\"pubTime\":\"20251106T123456.789\",\"baseUrl\":\"https://h.org\",\"relPath\":\"a\",\"size\":-3}", "'size' is negative")]
    [InlineData("{\"pubTime\":\"20251106T123456.789\",\"baseUrl\":\"https://h.org\",\"relPath\":\"a\",\"fileOp\":{\"link\":\"b\"}}", "'fileOp' {link}")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("", "body is empty")]
    public void Should_reject_naming_the_field_when_a_v03_message_is_malformed(string body, string expected)
    {
        var rejected = Assert.IsType<ParseResult.Rejected>(SarraceniaV03Parser.Instance.Parse(new InboundMessage("s", null, body)));
        Assert.Contains(expected, rejected.Rejection.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("20251106123456 https://h.org /a", "parts", "i,1024,3,0,1", "partitioned")]
    [InlineData("20251106123456 https://h.org /a", "sum", "L,abc", "link or directory")]
    [InlineData("20251106123456 https://h.org /a", "sum", "d,xyz", "'header sum'")]
    [InlineData("20251106123456 https://h.org /a", "sum", "q,1", "unknown method letter 'q'")]
    [InlineData("20251399123456 https://h.org /a", "sum", "0,1", "'body pubTime'")]
    public void Should_reject_naming_the_header_when_a_v02_message_is_malformed(string body, string header, string value, string expected)
    {
        var rejected = Assert.IsType<ParseResult.Rejected>(SarraceniaV02Parser.Instance.Parse(
            new InboundMessage("s", null, body, new Dictionary<string, string> { [header] = value })));
        Assert.Contains(expected, rejected.Rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_announce_a_deletion_when_sr3_posts_a_remove()
    {
        var v03 = SarraceniaV03Parser.Instance.Parse(new InboundMessage("s", null,
            "{\"pubTime\":\"2025-11-06T12:34:56Z\",\"baseUrl\":\"https://h.org\",\"relPath\":\"a/b\",\"fileOp\":{\"remove\":\"\"}}"));
        Assert.Equal(AnnouncementRelations.Deletion, Assert.IsType<ParseResult.Parsed>(v03).Announcements[0].Relation);
        var v02 = SarraceniaV02Parser.Instance.Parse(new InboundMessage("s", null, "20251106123456 https://h.org /a/b",
            new Dictionary<string, string> { ["sum"] = "R,0" }));
        Assert.Equal(AnnouncementRelations.Deletion, Assert.IsType<ParseResult.Parsed>(v02).Announcements[0].Relation);
    }
}
