namespace Pipeline.Streams.Announcements;

/// <summary>Turns one broker message into announcements or a rejection. Never throws on bad input.</summary>
public interface IAnnouncementParser
{
    /// <summary>The <see cref="Pipeline.Actors.Contracts.AnnouncementFormats"/> value this parser produces.</summary>
    string Format { get; }

    ParseResult Parse(InboundMessage message);
}

/// <summary>The shared try/catch: a parser body throws <see cref="MessageFormatException"/>, callers get a rejection.</summary>
public abstract class AnnouncementParser : IAnnouncementParser
{
    /// <summary>Bodies above this size are refused before parsing (a notification is small; 1 MiB is hostile).</summary>
    public const int MaxBodyChars = 1 << 20;

    public abstract string Format { get; }

    public ParseResult Parse(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Body.Length > MaxBodyChars)
            return ParseResult.Reject(Format, $"body is {message.Body.Length} characters, more than {MaxBodyChars}");
        if (string.IsNullOrWhiteSpace(message.Body))
            return ParseResult.Reject(Format, "body is empty");
        try
        {
            return ParseCore(message);
        }
        catch (MessageFormatException e)
        {
            return ParseResult.Reject(Format, e.Message);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or UriFormatException)
        {
            return ParseResult.Reject(Format, $"unreadable ({e.GetType().Name}: {e.Message})");
        }
    }

    protected abstract ParseResult ParseCore(InboundMessage message);
}
