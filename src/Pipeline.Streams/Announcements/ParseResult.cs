using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>
/// A message as it left the broker, before parsing: enough to parse it, filter it, and park it verbatim.
/// </summary>
/// <param name="Source">The configured source name (e.g. <c>datamart-amqp</c>).</param>
/// <param name="Topic">The AMQP routing key or MQTT topic, if any.</param>
/// <param name="Body">The body, decoded as UTF-8.</param>
/// <param name="Headers">AMQP application headers (Sarracenia v02 carries its fields there), or null.</param>
public sealed record InboundMessage(
    string Source,
    string? Topic,
    string Body,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    public string? Header(string name) =>
        Headers is not null && Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>What a parser made of one message: announcements (S3 events may hold several) or a rejection.</summary>
public abstract record ParseResult
{
    private ParseResult() { }

    public sealed record Parsed(IReadOnlyList<Announcement> Announcements) : ParseResult;

    /// <summary>The message is unusable. <paramref name="Reason"/> names what is wrong and where.</summary>
    public sealed record Rejected(Rejection Rejection) : ParseResult;

    public static ParseResult Of(Announcement announcement) => new Parsed([announcement]);

    public static ParseResult Reject(string format, string reason) => new Rejected(new Rejection(format, reason));

    public bool IsParsed => this is Parsed;
}

/// <summary>Why a message was refused: the format we tried and what is wrong, naming the field.</summary>
public sealed record Rejection(string Format, string Reason)
{
    public override string ToString() => $"{Format}: {Reason}";
}

/// <summary>Thrown inside parsers; turned into a <see cref="Rejection"/> at the parser's boundary.</summary>
internal sealed class MessageFormatException(string message) : Exception(message);
