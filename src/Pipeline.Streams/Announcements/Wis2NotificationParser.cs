using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>
/// WIS2 notification message 1.x (GeoJSON Feature): <c>properties.data_id</c>, <c>pubtime</c>,
/// <c>integrity</c> (base64, or hex as some producers send), and exactly one of the <c>canonical</c>,
/// <c>update</c> or <c>deletion</c> links, whose <c>href</c> is the location and <c>length</c> the size.
/// <c>RelPath</c> is the href's path; <c>DataId</c> is <c>data_id</c>.
/// </summary>
public sealed class Wis2NotificationParser : AnnouncementParser
{
    public static readonly Wis2NotificationParser Instance = new();

    public override string Format => AnnouncementFormats.Wis2;

    protected override ParseResult ParseCore(InboundMessage message)
    {
        using var doc = Formats.ParseJson(message.Body, Format);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new MessageFormatException($"body must be a JSON object, not {root.ValueKind}");
        if (Formats.OptionalString(root, "type") != "Feature")
            throw new MessageFormatException("'type' must be \"Feature\"");
        var props = Formats.RequireObject(root, "properties", "");
        var dataId = Formats.RequireString(props, "data_id", "properties.");
        var pubtime = Formats.ParseIsoTime(Formats.RequireString(props, "pubtime", "properties."), "properties.pubtime");

        Integrity? integrity = null;
        if (props.TryGetProperty("integrity", out var integ) && integ.ValueKind == JsonValueKind.Object)
            integrity = Formats.NormalizeIntegrity(
                Formats.RequireString(integ, "method", "properties.integrity."),
                Formats.RequireString(integ, "value", "properties.integrity."), "properties.integrity.value");

        if (!root.TryGetProperty("links", out var links) || links.ValueKind != JsonValueKind.Array)
            throw new MessageFormatException("'links' is missing or not an array");
        JsonElement? chosen = null;
        string? rel = null;
        var i = 0;
        foreach (var link in links.EnumerateArray())
        {
            var r = link.ValueKind == JsonValueKind.Object ? Formats.OptionalString(link, "rel", $"links[{i}].") : null;
            if (r is AnnouncementRelations.Canonical or AnnouncementRelations.Update or AnnouncementRelations.Deletion)
            {
                if (chosen is not null)
                    throw new MessageFormatException($"links[{i}] is a second '{r}' link (already have '{rel}'); exactly one of canonical/update/deletion is allowed");
                chosen = link;
                rel = r;
            }
            i++;
        }
        if (chosen is not { } l)
            throw new MessageFormatException("'links' has no link with rel canonical, update or deletion");

        var href = Formats.RequireString(l, "href", $"links[rel={rel}].");
        var location = Formats.RequireAbsoluteUri(href, $"links[rel={rel}].href");
        long? size = Formats.OptionalSize(l, "length", $"links[rel={rel}].");
        if (size is null && props.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object)
            size = Formats.OptionalSize(content, "size", "properties.content.");
        var relPath = Uri.UnescapeDataString(location.AbsolutePath).TrimStart('/');
        return ParseResult.Of(new Announcement(message.Source, Format, dataId, location, relPath, message.Topic, size,
            integrity, pubtime, message.Body, rel == AnnouncementRelations.Canonical ? null : rel));
    }
}
