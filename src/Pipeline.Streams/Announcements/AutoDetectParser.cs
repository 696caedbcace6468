using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>
/// Picks the format by the message's shape, for feeds that mix formats (a Sarracenia broker carries v02 and
/// v03; an SQS queue may hold raw and SNS-wrapped S3 events): a non-JSON body is v02; a JSON object with
/// <c>Records</c>, <c>Type</c> or <c>Event</c> is an S3 event; with <c>links</c> a WNM; otherwise v03.
/// </summary>
public sealed class AutoDetectParser : AnnouncementParser
{
    public static readonly AutoDetectParser Instance = new();

    public override string Format => "auto";

    protected override ParseResult ParseCore(InboundMessage message)
    {
        var body = message.Body.AsSpan().TrimStart();
        if (body.Length == 0 || body[0] != '{')
            return char.IsAsciiDigit(body.Length > 0 ? body[0] : ' ')
                ? SarraceniaV02Parser.Instance.Parse(message)
                : ParseResult.Reject(Format, $"body is neither JSON nor a Sarracenia v02 line: '{Formats.Clip(message.Body.Trim())}'");
        // Cheap shape probes on the raw text; the chosen parser validates properly.
        var text = message.Body;
        if (text.Contains("\"Records\"", StringComparison.Ordinal) || text.Contains("\"TopicArn\"", StringComparison.Ordinal) ||
            text.Contains("\"s3:TestEvent\"", StringComparison.Ordinal))
            return S3EventParser.Instance.Parse(message);
        if (text.Contains("\"links\"", StringComparison.Ordinal) && text.Contains("\"properties\"", StringComparison.Ordinal))
            return Wis2NotificationParser.Instance.Parse(message);
        return SarraceniaV03Parser.Instance.Parse(message);
    }

    public static IAnnouncementParser For(string format) => format switch
    {
        AnnouncementFormats.SarraceniaV03 => SarraceniaV03Parser.Instance,
        AnnouncementFormats.SarraceniaV02 => SarraceniaV02Parser.Instance,
        AnnouncementFormats.Wis2 => Wis2NotificationParser.Instance,
        AnnouncementFormats.S3Event => S3EventParser.Instance,
        "auto" => Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format,
            "unknown announcement format; use sarracenia-v03, sarracenia-v02, wis2-wnm, s3-event or auto"),
    };
}
