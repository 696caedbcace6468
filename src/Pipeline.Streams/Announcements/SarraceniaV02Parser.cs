using System.Globalization;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>
/// Sarracenia v02 notification: body <c>"pubTime baseUrl relPath"</c>; headers <c>sum</c>
/// (<c>d,&lt;md5 hex&gt;</c>, <c>s,&lt;sha512 hex&gt;</c>, <c>n,&lt;md5 of name&gt;</c>, <c>z,&lt;algo&gt;</c> cod,
/// <c>0,...</c> random, <c>a,...</c> arbitrary, <c>R,...</c> remove), <c>parts</c> (<c>1,&lt;size&gt;,1,0,0</c>),
/// <c>source</c>, <c>from_cluster</c>. Partitioned files (parts <c>i</c>/<c>p</c>), links and directory
/// operations are rejected.
/// </summary>
public sealed class SarraceniaV02Parser : AnnouncementParser
{
    public static readonly SarraceniaV02Parser Instance = new();

    public override string Format => AnnouncementFormats.SarraceniaV02;

    protected override ParseResult ParseCore(InboundMessage message)
    {
        var fields = message.Body.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 3)
            throw new MessageFormatException($"body must be 'pubTime baseUrl relPath', found {fields.Length} field(s): '{Formats.Clip(message.Body.Trim())}'");
        var pubTime = Formats.ParseSarraceniaTime(fields[0], "body pubTime");
        var baseUrl = fields[1];
        // A relPath may hold encoded spaces; anything after the third field is part of it in the wild.
        var relPath = string.Join(' ', fields[2..]);
        var location = Formats.Join(baseUrl, relPath, "body baseUrl + relPath");

        string? relation = null;
        Integrity? integrity = null;
        var sum = message.Header("sum");
        if (sum is not null)
        {
            var comma = sum.IndexOf(',');
            if (comma != 1) throw new MessageFormatException($"header 'sum' must be '<letter>,<value>', not '{Formats.Clip(sum)}'");
            var value = sum[2..];
            integrity = sum[0] switch
            {
                'd' => Formats.NormalizeIntegrity(IntegrityMethods.Md5, value, "header sum"),
                's' => Formats.NormalizeIntegrity(IntegrityMethods.Sha512, value, "header sum"),
                'n' => new Integrity("md5name", value),
                'z' => new Integrity("cod", value),
                '0' => new Integrity("random", value),
                'a' => new Integrity("arbitrary", value),
                'R' => null,
                'L' or 'm' or 'r' => throw new MessageFormatException($"header 'sum' '{sum[0]}' is a link or directory operation, not a file"),
                _ => throw new MessageFormatException($"header 'sum' has unknown method letter '{sum[0]}'"),
            };
            if (sum[0] == 'R') relation = AnnouncementRelations.Deletion;
        }

        long? size = null;
        var parts = message.Header("parts");
        if (parts is not null)
        {
            var p = parts.Split(',');
            if (p.Length < 2) throw new MessageFormatException($"header 'parts' must be '1,<size>,1,0,0', not '{Formats.Clip(parts)}'");
            if (p[0] != "1")
                throw new MessageFormatException($"header 'parts' '{Formats.Clip(parts)}' announces a partitioned file (method '{p[0]}'); only whole files ('1,...') are ingested");
            if (!long.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out var s))
                throw new MessageFormatException($"header 'parts' size '{Formats.Clip(p[1])}' is not a whole number");
            size = s;
        }

        var path = relPath.TrimStart('/');
        return ParseResult.Of(new Announcement(message.Source, Format, path, location, path, message.Topic ?? message.Header("topic"),
            size, integrity, pubTime, message.Body, relation));
    }
}
