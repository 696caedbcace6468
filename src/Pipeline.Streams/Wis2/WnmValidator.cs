using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Wis2;

/// <summary>
/// Which rulebook a problem breaks: <see cref="Schema"/> is what the official WNM JSON schema
/// (<c>wis2-notification-message-bundled.json</c>) checks, structurally; <see cref="Profile"/> is the rest of
/// the WNM 1.3.0 requirements that we publish to (and that a schema cannot say): RFC 3339 times, sha512
/// base64 integrity, exactly one canonical/update/deletion link with href/type/length, at most 8192 bytes,
/// the topic hierarchy.
/// </summary>
public enum WnmRule
{
    Schema,
    Profile,
}

/// <summary>One problem: the JSON path, what is wrong, and which rulebook says so.</summary>
public sealed record WnmIssue(WnmRule Rule, string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message} ({Rule})";
}

/// <summary>The WNM checker. Never throws on bad input; everything wrong is an issue.</summary>
public static class WnmValidator
{
    public const int MaxBytes = 8192;

    private static readonly string[] IntegrityMethodsAllowed = ["sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"];
    private static readonly string[] ContentEncodings = ["utf-8", "base64", "gzip"];
    private static readonly string[] Relations = [AnnouncementRelations.Canonical, AnnouncementRelations.Update, AnnouncementRelations.Deletion];

    /// <summary>Every issue, schema and profile. Empty means publishable.</summary>
    public static IReadOnlyList<WnmIssue> Validate(string json, string? topic = null)
    {
        var issues = new List<WnmIssue>();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            issues.Add(new WnmIssue(WnmRule.Schema, "$", "not JSON: " + e.Message));
            return issues;
        }
        using (doc)
        {
            var bytes = Encoding.UTF8.GetByteCount(json);
            if (bytes > MaxBytes) issues.Add(new WnmIssue(WnmRule.Profile, "$", $"message is {bytes} bytes, more than {MaxBytes}"));
            CheckRoot(doc.RootElement, topic, issues);
        }
        return issues;
    }

    /// <summary>Only the issues the official schema would report.</summary>
    public static IReadOnlyList<WnmIssue> SchemaIssues(string json) =>
        Validate(json).Where(i => i.Rule == WnmRule.Schema).ToList();

    private static void CheckRoot(JsonElement root, string? topic, List<WnmIssue> issues)
    {
        void Schema(string path, string message) => issues.Add(new WnmIssue(WnmRule.Schema, path, message));
        void Profile(string path, string message) => issues.Add(new WnmIssue(WnmRule.Profile, path, message));

        if (root.ValueKind != JsonValueKind.Object)
        {
            Schema("$", $"must be an object, not {root.ValueKind}");
            return;
        }

        // oneOf: {id, conformsTo, ...} or the deprecated {id, version, ...}; exactly one branch must hold.
        string[] common = ["id", "type", "geometry", "properties", "links"];
        var missing = common.Where(n => !root.TryGetProperty(n, out _)).ToList();
        var hasConforms = root.TryGetProperty("conformsTo", out var conformsTo);
        var hasVersion = root.TryGetProperty("version", out var version);
        if (missing.Count > 0) Schema("$", "missing " + string.Join(", ", missing));
        if (hasConforms == hasVersion)
            Schema("$", hasConforms ? "has both conformsTo and the deprecated version (exactly one is allowed)" : "missing conformsTo");
        if (!hasConforms) Profile("$.conformsTo", "WNM 1.3.0 requires conformsTo (version is deprecated)");

        if (root.TryGetProperty("id", out var id))
        {
            if (id.ValueKind != JsonValueKind.String) Schema("$.id", "must be a string");
            else if (!Guid.TryParseExact(id.GetString(), "D", out _)) Schema("$.id", $"'{id.GetString()}' is not a UUID");
        }
        if (hasConforms)
        {
            if (conformsTo.ValueKind != JsonValueKind.Array) Schema("$.conformsTo", "must be an array");
            else if (!conformsTo.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.String && e.GetString() == WnmBuilder.ConformsToCore))
                Schema("$.conformsTo", $"must contain {WnmBuilder.ConformsToCore}");
        }
        if (hasVersion && (version.ValueKind != JsonValueKind.String || version.GetString() != "v04"))
            Schema("$.version", "must be \"v04\"");
        if (root.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != "Feature"))
            Schema("$.type", "must be \"Feature\"");
        if (root.TryGetProperty("geometry", out var geometry)) CheckGeometry(geometry, Schema);
        if (root.TryGetProperty("properties", out var props)) CheckProperties(props, topic, Schema, Profile);
        if (root.TryGetProperty("links", out var links)) CheckLinks(links, Schema, Profile);

        if (topic is not null)
        {
            var t = Wis2Topic.TryParse(topic);
            if (t is null)
                Profile("topic", $"'{topic}' is not origin/a/wis2/<centre-id>/data/core/weather/prediction/forecast/<range>/<deterministic|probabilistic>");
            else
            {
                foreach (var p in t.Problems()) Profile("topic", p);
                if (props.ValueKind == JsonValueKind.Object && props.TryGetProperty("data_id", out var dataId) &&
                    dataId.ValueKind == JsonValueKind.String && !dataId.GetString()!.StartsWith(t.DataIdStem + "/", StringComparison.Ordinal))
                    Profile("$.properties.data_id", $"must start with the topic hierarchy '{t.DataIdStem}/'");
            }
        }
    }

    private static void CheckGeometry(JsonElement g, Action<string, string> schema)
    {
        if (g.ValueKind == JsonValueKind.Null) return;
        if (g.ValueKind != JsonValueKind.Object)
        {
            schema("$.geometry", "must be null, a Point or a Polygon");
            return;
        }
        if (!g.TryGetProperty("type", out var t) || !g.TryGetProperty("coordinates", out var c))
        {
            schema("$.geometry", "needs type and coordinates");
            return;
        }
        var kind = t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (kind == "Point")
        {
            if (!IsPosition(c)) schema("$.geometry.coordinates", "a Point needs an array of at least 2 numbers");
        }
        else if (kind == "Polygon")
        {
            if (c.ValueKind != JsonValueKind.Array) schema("$.geometry.coordinates", "a Polygon needs an array of rings");
            else
            {
                var i = 0;
                foreach (var ring in c.EnumerateArray())
                {
                    if (ring.ValueKind != JsonValueKind.Array || ring.GetArrayLength() < 4 || !ring.EnumerateArray().All(IsPosition))
                        schema($"$.geometry.coordinates[{i}]", "a ring needs at least 4 positions of at least 2 numbers");
                    i++;
                }
            }
        }
        else schema("$.geometry.type", $"must be Point or Polygon, not {Describe(t)}");
    }

    private static bool IsPosition(JsonElement p) =>
        p.ValueKind == JsonValueKind.Array && p.GetArrayLength() >= 2 && p.EnumerateArray().All(n => n.ValueKind == JsonValueKind.Number);

    private static void CheckProperties(JsonElement p, string? topic, Action<string, string> schema, Action<string, string> profile)
    {
        const string at = "$.properties";
        if (p.ValueKind != JsonValueKind.Object)
        {
            schema(at, "must be an object");
            return;
        }
        foreach (var name in new[] { "pubtime", "data_id" })
            if (!p.TryGetProperty(name, out _)) schema(at, "missing " + name);
        foreach (var name in new[] { "pubtime", "data_id", "metadata_id", "producer", "global-cache", "start_datetime", "end_datetime" })
            if (p.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.String) schema($"{at}.{name}", "must be a string");
        if (p.TryGetProperty("datetime", out var dtv) && dtv.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            schema(at + ".datetime", "must be a string or null");
        if (p.TryGetProperty("cache", out var cache) && cache.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            schema(at + ".cache", "must be a boolean");

        var hasRange = p.TryGetProperty("start_datetime", out _) && p.TryGetProperty("end_datetime", out _);
        var hasInstant = p.TryGetProperty("datetime", out _);
        if (hasRange == hasInstant)
            schema(at, hasRange ? "has both datetime and start_datetime/end_datetime (exactly one is allowed)" : "needs datetime, or start_datetime and end_datetime");

        foreach (var name in new[] { "pubtime", "datetime", "start_datetime", "end_datetime" })
            if (p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && !IsRfc3339(v.GetString()!))
                profile($"{at}.{name}", $"'{v.GetString()}' is not an RFC 3339 date-time");
        if (p.TryGetProperty("data_id", out var dataId) && dataId.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(dataId.GetString()))
            profile(at + ".data_id", "is empty");

        if (p.TryGetProperty("integrity", out var integ))
        {
            if (integ.ValueKind != JsonValueKind.Object) schema(at + ".integrity", "must be an object");
            else
            {
                var method = integ.TryGetProperty("method", out var m) ? m : default;
                var value = integ.TryGetProperty("value", out var vv) ? vv : default;
                if (method.ValueKind == JsonValueKind.Undefined || value.ValueKind == JsonValueKind.Undefined)
                    schema(at + ".integrity", "needs method and value");
                if (method.ValueKind != JsonValueKind.Undefined &&
                    (method.ValueKind != JsonValueKind.String || !IntegrityMethodsAllowed.Contains(method.GetString())))
                    schema(at + ".integrity.method", $"must be one of {string.Join(", ", IntegrityMethodsAllowed)}, not {Describe(method)}");
                if (value.ValueKind != JsonValueKind.Undefined && value.ValueKind != JsonValueKind.String)
                    schema(at + ".integrity.value", "must be a string");
                if (method.ValueKind == JsonValueKind.String && method.GetString() != "sha512")
                    profile(at + ".integrity.method", "we publish sha512");
                if (value.ValueKind == JsonValueKind.String && !IsBase64Of(value.GetString()!, 64))
                    profile(at + ".integrity.value", "is not the base64 of a 64-byte sha512");
            }
        }
        else profile(at + ".integrity", "is required (sha512, base64)");

        if (p.TryGetProperty("content", out var content))
        {
            if (content.ValueKind != JsonValueKind.Object) schema(at + ".content", "must be an object");
            else
            {
                foreach (var name in new[] { "encoding", "size", "value" })
                    if (!content.TryGetProperty(name, out _)) schema(at + ".content", "missing " + name);
                if (content.TryGetProperty("encoding", out var enc) && (enc.ValueKind != JsonValueKind.String || !ContentEncodings.Contains(enc.GetString())))
                    schema(at + ".content.encoding", "must be utf-8, base64 or gzip");
                if (content.TryGetProperty("size", out var size))
                {
                    if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out var s)) schema(at + ".content.size", "must be an integer");
                    else if (s > WnmBuilder.MaxInlineContent) schema(at + ".content.size", $"{s} is more than {WnmBuilder.MaxInlineContent}");
                }
                if (content.TryGetProperty("value", out var cv))
                {
                    if (cv.ValueKind != JsonValueKind.String) schema(at + ".content.value", "must be a string");
                    else if (cv.GetString()!.EnumerateRunes().Count() > WnmBuilder.MaxInlineContent)
                        schema(at + ".content.value", $"is longer than {WnmBuilder.MaxInlineContent} characters");
                }
            }
        }
        _ = topic;
    }

    private static void CheckLinks(JsonElement links, Action<string, string> schema, Action<string, string> profile)
    {
        if (links.ValueKind != JsonValueKind.Array)
        {
            schema("$.links", "must be an array");
            return;
        }
        if (links.GetArrayLength() == 0) schema("$.links", "must hold at least one link");
        var i = 0;
        var main = new List<(int Index, JsonElement Link)>();
        foreach (var link in links.EnumerateArray())
        {
            var at = $"$.links[{i}]";
            if (link.ValueKind != JsonValueKind.Object)
            {
                schema(at, "must be an object");
                i++;
                continue;
            }
            foreach (var name in new[] { "rel", "href" })
                if (!link.TryGetProperty(name, out _)) schema(at, "missing " + name);
            foreach (var name in new[] { "rel", "href", "type", "hreflang", "title" })
                if (link.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.String) schema($"{at}.{name}", "must be a string");
            if (link.TryGetProperty("length", out var len) && (len.ValueKind != JsonValueKind.Number || !len.TryGetInt64(out _)))
                schema(at + ".length", "must be an integer");
            if (link.TryGetProperty("rel", out var rel) && rel.ValueKind == JsonValueKind.String && Relations.Contains(rel.GetString()))
                main.Add((i, link));
            i++;
        }
        if (main.Count != 1)
        {
            profile("$.links", $"needs exactly one link with rel canonical, update or deletion; found {main.Count}");
            return;
        }
        var (index, l) = main[0];
        var where = $"$.links[{index}]";
        if (!l.TryGetProperty("href", out var href) || href.ValueKind != JsonValueKind.String ||
            !Uri.TryCreate(href.GetString(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "s3" or "ftp" or "sftp"))
            profile(where + ".href", "must be an absolute URL");
        if (!l.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(t.GetString()))
            profile(where + ".type", "is required (the media type)");
        if (!l.TryGetProperty("length", out var length) || length.ValueKind != JsonValueKind.Number || !length.TryGetInt64(out var n) || n < 0)
            profile(where + ".length", "is required (bytes at href)");
    }

    private static bool IsRfc3339(string s) =>
        s.Length >= 20 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') &&
        DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.None, out _) &&
        (s.EndsWith('Z') || s.EndsWith('z') || s[^6] is '+' or '-');

    private static bool IsBase64Of(string s, int bytes)
    {
        Span<byte> buffer = stackalloc byte[bytes + 3];
        return Convert.TryFromBase64String(s, buffer, out var written) && written == bytes;
    }

    private static string Describe(JsonElement e) => e.ValueKind == JsonValueKind.String ? $"'{e.GetString()}'" : e.ValueKind.ToString();
}
