using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Wis2;

/// <summary>The forecast ranges of the WIS2 topic hierarchy under <c>weather/prediction/forecast</c>.</summary>
public static class Wis2ForecastRanges
{
    public static readonly IReadOnlyList<string> All = ["nowcasting", "short-range", "medium-range", "extended-range", "long-range"];
}

/// <summary>A WIS2 topic for model output: <c>origin/a/wis2/&lt;centre-id&gt;/data/core/weather/prediction/forecast/&lt;range&gt;/&lt;kind&gt;</c>.</summary>
public sealed partial record Wis2Topic(string CentreId, string Range, bool Probabilistic)
{
    public const string Prefix = "origin/a/wis2/";

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex CentreIdPattern();

    [GeneratedRegex("^origin/a/wis2/(?<centre>[^/]+)/data/core/weather/prediction/forecast/(?<range>[^/]+)/(?<kind>deterministic|probabilistic)$", RegexOptions.CultureInvariant)]
    private static partial Regex TopicPattern();

    public string Kind => Probabilistic ? "probabilistic" : "deterministic";

    /// <summary>The MQTT topic.</summary>
    public override string ToString() => $"{Prefix}{CentreId}/data/core/weather/prediction/forecast/{Range}/{Kind}";

    /// <summary>The topic without <c>origin/a/wis2/</c>: the stem that <c>data_id</c> starts with.</summary>
    public string DataIdStem => ToString()[Prefix.Length..];

    /// <summary>Problems with this topic, or none.</summary>
    public IEnumerable<string> Problems()
    {
        if (!CentreIdPattern().IsMatch(CentreId))
            yield return $"centre-id '{CentreId}' must be lower-case letters, digits and hyphens (e.g. ca-eccc-msc)";
        if (!Wis2ForecastRanges.All.Contains(Range))
            yield return $"forecast range '{Range}' is not one of {string.Join(", ", Wis2ForecastRanges.All)}";
    }

    public static Wis2Topic? TryParse(string topic)
    {
        var m = TopicPattern().Match(topic);
        return m.Success ? new Wis2Topic(m.Groups["centre"].Value, m.Groups["range"].Value, m.Groups["kind"].Value == "probabilistic") : null;
    }
}

/// <summary>A bounding box in degrees (WGS84 longitude/latitude).</summary>
public sealed record BoundingBox(double West, double South, double East, double North);

/// <summary>What to announce. Exactly one of <see cref="Datetime"/> or the pair <see cref="Start"/>/<see cref="End"/>.</summary>
/// <param name="Topic">Where it is published; <c>data_id</c> is built under it.</param>
/// <param name="LocalId">The rest of <c>data_id</c> after the topic stem, e.g. <c>gdps/2026-11-01T00Z/TMP.zarr</c>.</param>
/// <param name="Href">The URL of the data.</param>
/// <param name="MediaType">The link's <c>type</c>, e.g. <c>application/vnd+zarr</c> or <c>application/grib</c>.</param>
/// <param name="Length">Bytes at <paramref name="Href"/>.</param>
/// <param name="Sha512">The SHA-512 of those bytes (64 bytes).</param>
public sealed record WnmRequest(Wis2Topic Topic, string LocalId, Uri Href, string MediaType, long Length, byte[] Sha512)
{
    public DateTimeOffset? Datetime { get; init; }
    public DateTimeOffset? Start { get; init; }
    public DateTimeOffset? End { get; init; }

    /// <summary>The grid's bounds; null gives <c>"geometry": null</c>.</summary>
    public BoundingBox? Bounds { get; init; }

    public string? MetadataId { get; init; }

    /// <summary><see cref="AnnouncementRelations"/>: canonical (new), update or deletion.</summary>
    public string Relation { get; init; } = AnnouncementRelations.Canonical;

    /// <summary>The data itself; inlined (base64) only when the encoded form fits in 4096 characters.</summary>
    public ReadOnlyMemory<byte>? Content { get; init; }

    /// <summary>False asks Global Caches not to cache the data.</summary>
    public bool? Cache { get; init; }

    /// <summary>Further links after the main one, e.g. <c>via</c>: the original file a product was made from.</summary>
    public IReadOnlyList<WnmLink> OtherLinks { get; init; } = [];
}

/// <summary>A further link of a notification (not canonical/update/deletion: those are the request's own).</summary>
public sealed record WnmLink(string Rel, Uri Href, string MediaType, long? Length = null);

/// <summary>A built notification: its MQTT topic, its JSON, and its id.</summary>
public sealed record WnmMessage(string Topic, string Json, Guid Id)
{
    public int ByteCount => Encoding.UTF8.GetByteCount(Json);
}

/// <summary>
/// Builds WIS2 notification messages to WNM 1.3.0: <c>id</c> (UUID), <c>conformsTo</c>, <c>type: Feature</c>,
/// <c>geometry</c> (bounding polygon or null), <c>properties</c> (<c>data_id</c> under the topic hierarchy,
/// <c>pubtime</c>, <c>datetime</c> or <c>start_datetime</c>/<c>end_datetime</c>, <c>integrity</c> sha512
/// base64, inline <c>content</c> only when small), and one <c>canonical</c>/<c>update</c>/<c>deletion</c> link
/// with <c>href</c>, <c>type</c> and <c>length</c>. Every message is checked by <see cref="WnmValidator"/>
/// before it is returned: an invalid request throws, naming what is wrong.
/// </summary>
public sealed class WnmBuilder(TimeProvider? clock = null, Func<Guid>? ids = null)
{
    public const string ConformsToCore = "http://wis.wmo.int/spec/wnm/1/conf/core";

    /// <summary>The largest inline content (characters of its encoded value) the WNM schema allows.</summary>
    public const int MaxInlineContent = 4096;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Func<Guid> _ids = ids ?? Guid.NewGuid;

    public WnmMessage Build(WnmRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var topicProblems = request.Topic.Problems().ToList();
        if (topicProblems.Count > 0) throw new ArgumentException("WNM topic: " + string.Join("; ", topicProblems), nameof(request));
        if (request.Sha512.Length != 64)
            throw new ArgumentException($"WNM integrity: Sha512 must be 64 bytes, got {request.Sha512.Length}", nameof(request));
        if (request.Datetime is null == (request.Start is null || request.End is null))
            throw new ArgumentException("WNM time: give either Datetime or both Start and End", nameof(request));
        if (string.IsNullOrWhiteSpace(request.LocalId))
            throw new ArgumentException("WNM data_id: LocalId is empty", nameof(request));

        var id = _ids();
        using var buffer = new MemoryStream(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", id.ToString("D"));
            w.WriteStartArray("conformsTo");
            w.WriteStringValue(ConformsToCore);
            w.WriteEndArray();
            w.WriteString("type", "Feature");
            WriteGeometry(w, request.Bounds);
            w.WriteStartObject("properties");
            w.WriteString("data_id", request.Topic.DataIdStem + "/" + request.LocalId.Trim('/'));
            if (request.MetadataId is not null) w.WriteString("metadata_id", request.MetadataId);
            w.WriteString("pubtime", Rfc3339(_clock.GetUtcNow()));
            if (request.Datetime is { } dt) w.WriteString("datetime", Rfc3339(dt));
            else
            {
                w.WriteString("start_datetime", Rfc3339(request.Start!.Value));
                w.WriteString("end_datetime", Rfc3339(request.End!.Value));
            }
            w.WriteStartObject("integrity");
            w.WriteString("method", IntegrityMethods.Sha512);
            w.WriteString("value", Convert.ToBase64String(request.Sha512));
            w.WriteEndObject();
            if (request.Cache is { } cache) w.WriteBoolean("cache", cache);
            if (request.Content is { } content && (content.Length + 2) / 3 * 4 <= MaxInlineContent)
            {
                w.WriteStartObject("content");
                w.WriteString("encoding", "base64");
                w.WriteString("value", Convert.ToBase64String(content.Span));
                w.WriteNumber("size", content.Length);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("links");
            w.WriteStartObject();
            w.WriteString("href", request.Href.AbsoluteUri);
            w.WriteString("rel", request.Relation);
            w.WriteString("type", request.MediaType);
            w.WriteNumber("length", request.Length);
            w.WriteEndObject();
            foreach (var link in request.OtherLinks)
            {
                if (link.Rel is AnnouncementRelations.Canonical or AnnouncementRelations.Update or AnnouncementRelations.Deletion)
                    throw new ArgumentException($"WNM links: a further link cannot be '{link.Rel}' (the notification has one main link)", nameof(request));
                w.WriteStartObject();
                w.WriteString("href", link.Href.AbsoluteUri);
                w.WriteString("rel", link.Rel);
                w.WriteString("type", link.MediaType);
                if (link.Length is { } n) w.WriteNumber("length", n);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        var message = new WnmMessage(request.Topic.ToString(), Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), id);
        var issues = WnmValidator.Validate(message.Json, message.Topic);
        if (issues.Count > 0)
            throw new ArgumentException("the WNM built from this request is invalid: " + string.Join("; ", issues), nameof(request));
        return message;
    }

    private static void WriteGeometry(Utf8JsonWriter w, BoundingBox? b)
    {
        if (b is null)
        {
            w.WriteNull("geometry");
            return;
        }
        w.WriteStartObject("geometry");
        w.WriteString("type", "Polygon");
        w.WriteStartArray("coordinates");
        w.WriteStartArray();
        foreach (var (x, y) in new[] { (b.West, b.South), (b.East, b.South), (b.East, b.North), (b.West, b.North), (b.West, b.South) })
        {
            w.WriteStartArray();
            w.WriteNumberValue(Math.Round(x, 6));
            w.WriteNumberValue(Math.Round(y, 6));
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static string Rfc3339(DateTimeOffset t) =>
        t.UtcDateTime.ToString(t.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
