using System.Net;
using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>
/// S3 event notifications, raw (<c>{"Records":[...]}</c>) or wrapped by SNS (as delivered to SQS:
/// <c>{"Type":"Notification","Message":"&lt;the S3 event as a JSON string&gt;"}</c>, e.g. NOAA's
/// <c>NewOFSObject</c> topic). One announcement per record: <c>s3://bucket/key</c> with the key URL-decoded,
/// <c>size</c>, and the <c>eTag</c> as md5 when it is a plain (non-multipart) MD5. <c>ObjectRemoved</c> events
/// are deletions. The <c>s3:TestEvent</c> that S3 sends on configuration is rejected (parked) by name.
/// </summary>
public sealed class S3EventParser : AnnouncementParser
{
    public static readonly S3EventParser Instance = new();

    public override string Format => AnnouncementFormats.S3Event;

    protected override ParseResult ParseCore(InboundMessage message)
    {
        using var doc = Formats.ParseJson(message.Body, Format);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new MessageFormatException($"body must be a JSON object, not {root.ValueKind}");

        var topic = message.Topic;
        if (root.TryGetProperty("Type", out var type) && type.ValueKind == JsonValueKind.String)
        {
            if (type.GetString() != "Notification")
                throw new MessageFormatException($"SNS message of Type '{type.GetString()}' is not a Notification");
            var inner = Formats.RequireString(root, "Message", "SNS ");
            topic ??= Formats.OptionalString(root, "TopicArn");
            using var innerDoc = Formats.ParseJson(inner, Format);
            return ParseRecords(innerDoc.RootElement, message, topic, "SNS Message.");
        }
        return ParseRecords(root, message, topic, "");
    }

    private ParseResult ParseRecords(JsonElement root, InboundMessage message, string? topic, string where)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new MessageFormatException($"{where}body must be a JSON object, not {root.ValueKind}");
        if (root.TryGetProperty("Event", out var ev) && ev.ValueKind == JsonValueKind.String && ev.GetString() == "s3:TestEvent")
            throw new MessageFormatException($"{where}Event is s3:TestEvent (sent when notifications are configured), not an object");
        if (!root.TryGetProperty("Records", out var records) || records.ValueKind != JsonValueKind.Array)
            throw new MessageFormatException($"'{where}Records' is missing or not an array");
        var result = new List<Announcement>(records.GetArrayLength());
        var i = 0;
        foreach (var record in records.EnumerateArray())
        {
            var at = $"{where}Records[{i}].";
            if (record.ValueKind != JsonValueKind.Object) throw new MessageFormatException($"'{at[..^1]}' must be an object");
            var eventName = Formats.RequireString(record, "eventName", at);
            var eventTime = Formats.ParseIsoTime(Formats.RequireString(record, "eventTime", at), at + "eventTime");
            var s3 = Formats.RequireObject(record, "s3", at);
            var bucket = Formats.RequireString(Formats.RequireObject(s3, "bucket", at + "s3."), "name", at + "s3.bucket.");
            var obj = Formats.RequireObject(s3, "object", at + "s3.");
            // S3 URL-encodes keys in events, with '+' for a space.
            var key = WebUtility.UrlDecode(Formats.RequireString(obj, "key", at + "s3.object."));
            if (key.Length == 0 || key.Contains('\0')) throw new MessageFormatException($"'{at}s3.object.key' is empty or holds NUL");
            var size = Formats.OptionalSize(obj, "size", at + "s3.object.");
            var etag = Formats.OptionalString(obj, "eTag", at + "s3.object.")?.Trim('"');
            Integrity? integrity = null;
            if (!string.IsNullOrEmpty(etag))
                integrity = etag.Length == 32 && Formats.IsHex(etag)
                    ? Formats.NormalizeIntegrity(IntegrityMethods.Md5, etag, at + "s3.object.eTag")
                    : new Integrity("s3-etag", etag);
            var relation = eventName.StartsWith("ObjectRemoved", StringComparison.Ordinal) ? AnnouncementRelations.Deletion : null;
            if (relation is null && !eventName.StartsWith("ObjectCreated", StringComparison.Ordinal))
                throw new MessageFormatException($"'{at}eventName' {eventName} is neither ObjectCreated nor ObjectRemoved");
            var location = new Uri("s3://" + bucket + "/" + Uri.EscapeDataString(key).Replace("%2F", "/", StringComparison.Ordinal));
            result.Add(new Announcement(message.Source, Format, bucket + "/" + key, location, key, topic ?? eventName, size,
                integrity, eventTime, message.Body, relation));
            i++;
        }
        if (result.Count == 0) throw new MessageFormatException($"'{where}Records' is empty");
        return new ParseResult.Parsed(result);
    }
}
