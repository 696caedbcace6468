using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>
/// Sarracenia v03 (sr3) notification: a JSON body with <c>pubTime</c>, <c>baseUrl</c>, <c>relPath</c>
/// (or <c>retrievePath</c>), <c>identity</c> (or the older <c>integrity</c>), <c>size</c>, and optional
/// <c>fileOp</c>. The topic travels as the AMQP routing key. <c>RelPath</c> and <c>DataId</c> are the relPath
/// without its leading slash.
/// </summary>
public sealed class SarraceniaV03Parser : AnnouncementParser
{
    public static readonly SarraceniaV03Parser Instance = new();

    public override string Format => AnnouncementFormats.SarraceniaV03;

    protected override ParseResult ParseCore(InboundMessage message)
    {
        using var doc = Formats.ParseJson(message.Body, Format);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new MessageFormatException($"body must be a JSON object, not {root.ValueKind}");

        var pubTime = Formats.ParseSarraceniaTime(Formats.RequireString(root, "pubTime"), "pubTime");
        var baseUrl = Formats.RequireString(root, "baseUrl");
        var relPath = Formats.RequireString(root, "relPath");
        var retrieve = Formats.OptionalString(root, "retrievePath");
        var location = Formats.Join(baseUrl, retrieve ?? relPath, retrieve is null ? "baseUrl + relPath" : "baseUrl + retrievePath");

        var integrity = ReadIdentity(root, "identity") ?? ReadIdentity(root, "integrity");
        var size = Formats.OptionalSize(root, "size");

        string? relation = null;
        if (root.TryGetProperty("fileOp", out var fileOp) && fileOp.ValueKind == JsonValueKind.Object)
        {
            if (fileOp.TryGetProperty("remove", out _)) relation = AnnouncementRelations.Deletion;
            else
            {
                var ops = string.Join(",", fileOp.EnumerateObject().Select(p => p.Name));
                throw new MessageFormatException($"'fileOp' {{{ops}}} is not a file announcement (links, renames and directories are not ingested)");
            }
        }

        var path = relPath.TrimStart('/');
        var topic = message.Topic ?? Formats.OptionalString(root, "topic");
        return ParseResult.Of(new Announcement(message.Source, Format, path, location, path, topic, size, integrity,
            pubTime, message.Body, relation));
    }

    private static Integrity? ReadIdentity(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object) throw new MessageFormatException($"'{name}' must be an object, not {v.ValueKind}");
        var method = Formats.RequireString(v, "method", name + ".");
        var value = Formats.OptionalString(v, "value", name + ".") ?? "";
        if (method is "cod" or "random" or "arbitrary" or "md5name" || value.Length == 0) return new Integrity(method, value);
        return Formats.NormalizeIntegrity(method, value, name + ".value");
    }
}
