using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests;

public sealed class Wis2AndS3ParserSpecs
{
    [SharedDataFact]
    public async Task Should_read_the_wis2_examples_and_refuse_placeholder_checksums()
    {
        var eumetsat = await Parse("wnm-eumetsat-msg-seviri-core-notification.json");
        Assert.Equal(409575, eumetsat.Size);
        Assert.Equal("sha512", eumetsat.Integrity!.Method);
        // The example carries hex; we normalise to base64 (64 bytes).
        Assert.Equal(64, Convert.FromBase64String(eumetsat.Integrity.Value).Length);
        Assert.StartsWith("wis2/int-eumetsat/data/core/", eumetsat.DataId, StringComparison.Ordinal);

        var deletion = await Parse("wnm-example4.json");
        Assert.Equal(AnnouncementRelations.Deletion, deletion.Relation);
        Assert.Equal(new Uri("https://example.org/92c557ef-d28e-4713-91af-2e2e7be6f8ab.txt"), deletion.Location);

        // Examples 1 and 2 carry the spec's placeholder checksum "A2KNxvks...S8qfSCw==", which is not base64:
        // an integrity we cannot check is refused, naming the field.
        foreach (var file in new[] { "wnm-example1.json", "wnm-example2.json" })
        {
            var body = await File.ReadAllTextAsync(SharedData.Data("wis2", file));
            var rejected = Assert.IsType<ParseResult.Rejected>(Wis2NotificationParser.Instance.Parse(new InboundMessage("gb", null, body)));
            Assert.Contains("'properties.integrity.value'", rejected.Rejection.Reason, StringComparison.Ordinal);
        }
    }

    private static async Task<Announcement> Parse(string file)
    {
        var body = await File.ReadAllTextAsync(SharedData.Data("wis2", file));
        var result = Wis2NotificationParser.Instance.Parse(new InboundMessage("gb", "origin/a/wis2/x", body));
        return Assert.Single(Assert.IsType<ParseResult.Parsed>(result).Announcements);
    }

    private const string OfsRecord = """
        {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2025-11-06T12:34:56.789Z","eventName":"ObjectCreated:Put",
         "s3":{"s3SchemaVersion":"1.0","configurationId":"NewOFSObject","bucket":{"name":"noaa-nos-ofs-pds","arn":"arn:aws:s3:::noaa-nos-ofs-pds"},
         "object":{"key":"cbofs/netcdf/2025/11/06/cbofs.t12z.20251106.fields.f001.nc","size":123456789,"eTag":"0123456789abcdef0123456789abcdef","sequencer":"0065"}}}
        """;

    [Fact]
    public void Should_read_an_sns_wrapped_s3_event_when_the_event_is_a_json_string()
    {
        var inner = "{\"Records\":[" + OfsRecord + "," + OfsRecord.Replace("f001", "f002+with%20space", StringComparison.Ordinal) + "]}";
        var sns = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["Type"] = "Notification",
            ["MessageId"] = "m-1",
            ["TopicArn"] = "arn:aws:sns:us-east-1:123456789012:NewOFSObject",
            ["Message"] = inner,
        });
        var all = Assert.IsType<ParseResult.Parsed>(S3EventParser.Instance.Parse(new InboundMessage("ofs-sqs", null, sns))).Announcements;

        Assert.Equal(2, all.Count);
        Assert.Equal("noaa-nos-ofs-pds/cbofs/netcdf/2025/11/06/cbofs.t12z.20251106.fields.f001.nc", all[0].DataId);
        Assert.Equal(new Uri("s3://noaa-nos-ofs-pds/cbofs/netcdf/2025/11/06/cbofs.t12z.20251106.fields.f001.nc"), all[0].Location);
        Assert.Equal(123456789, all[0].Size);
        Assert.Equal(new Integrity("md5", Convert.ToBase64String(Convert.FromHexString("0123456789abcdef0123456789abcdef"))), all[0].Integrity);
        Assert.Equal("arn:aws:sns:us-east-1:123456789012:NewOFSObject", all[0].Topic);
        Assert.Equal("cbofs/netcdf/2025/11/06/cbofs.t12z.20251106.fields.f002 with space.nc", all[1].RelPath);
        Assert.Same(AutoDetectParser.Instance.Parse(new InboundMessage("x", null, sns)).GetType(), typeof(ParseResult.Parsed));
    }

    [Theory]
    [InlineData("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Bucket\":\"b\"}", "s3:TestEvent")]
    [InlineData("{\"Type\":\"SubscriptionConfirmation\",\"Message\":\"x\"}", "SubscriptionConfirmation")]
    [InlineData("{\"Type\":\"Notification\",\"Message\":\"{not json\"}", "not JSON")]
    [InlineData("{\"Records\":[]}", "'Records' is empty")]
    [InlineData("{\"Records\":[{\"eventName\":\"ObjectTagging:Put\",\"eventTime\":\"2025-11-06T00:00:00Z\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}}]}", "neither ObjectCreated nor ObjectRemoved")]
    [InlineData("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"eventTime\":\"2025-11-06T00:00:00Z\",\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}", "'Records[0].s3.object' is missing")]
    public void Should_reject_naming_the_field_when_an_s3_event_is_unusable(string body, string expected)
    {
        var rejected = Assert.IsType<ParseResult.Rejected>(S3EventParser.Instance.Parse(new InboundMessage("s", null, body)));
        Assert.Contains(expected, rejected.Rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_reject_a_wnm_with_two_main_links()
    {
        var body = """{"type":"Feature","properties":{"data_id":"x","pubtime":"2025-01-01T00:00:00Z"},"links":[{"rel":"canonical","href":"https://a.org/1"},{"rel":"update","href":"https://a.org/2"}]}""";
        var rejected = Assert.IsType<ParseResult.Rejected>(Wis2NotificationParser.Instance.Parse(new InboundMessage("s", null, body)));
        Assert.Contains("links[1] is a second 'update' link", rejected.Rejection.Reason, StringComparison.Ordinal);
    }
}
