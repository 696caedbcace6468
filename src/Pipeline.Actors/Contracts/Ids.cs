using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Actors.Contracts;

/// <summary>A configured dataset, e.g. <c>msc.cansips.forecast.raw</c>. Never contains a slash.</summary>
[JsonConverter(typeof(DatasetIdJsonConverter))]
public readonly record struct DatasetId
{
    public DatasetId(string value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("a dataset id must not be empty", nameof(value));
        if (value.Contains('/')) throw new ArgumentException($"a dataset id must not contain '/': '{value}'", nameof(value));
        Value = value;
    }

    public string Value { get; }

    public override string ToString() => Value;
}

/// <summary>
/// One model run: a dataset and its reference time, written <c>dataset/2026-11-01T00Z</c> (minutes are added,
/// <c>2026-11-01T06:30Z</c>, only when not zero). This string is the sharding entity id.
/// </summary>
[JsonConverter(typeof(ModelRunIdJsonConverter))]
public readonly record struct ModelRunId(DatasetId Dataset, DateTimeOffset ReferenceTime)
{
    public override string ToString() => Dataset.Value + "/" + FormatReferenceTime(ReferenceTime);

    public static string FormatReferenceTime(DateTimeOffset t)
    {
        var u = t.ToUniversalTime();
        return u.Minute == 0 && u.Second == 0
            ? u.ToString("yyyy-MM-dd'T'HH'Z'", CultureInfo.InvariantCulture)
            : u.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
    }

    public static ModelRunId Parse(string text)
    {
        if (!TryParse(text, out var id))
            throw new FormatException($"'{text}' is not a model run id (expected dataset/yyyy-MM-ddTHHZ)");
        return id;
    }

    public static bool TryParse(string? text, out ModelRunId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text)) return false;
        var slash = text.LastIndexOf('/');
        if (slash <= 0 || slash == text.Length - 1) return false;
        var time = text[(slash + 1)..];
        if (!DateTimeOffset.TryParseExact(time, ["yyyy-MM-dd'T'HH'Z'", "yyyy-MM-dd'T'HH:mm'Z'"], CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return false;
        var dataset = text[..slash];
        if (dataset.Contains('/')) return false;
        id = new ModelRunId(new DatasetId(dataset), t);
        return true;
    }
}

/// <summary>
/// One version of one file: the announced data id and its checksum. The same data id with the same checksum
/// is a duplicate; with another checksum it is a new version (a correction) and is admitted again.
/// </summary>
/// <param name="DataId">The stable identity of the file as announced.</param>
/// <param name="Checksum"><c>method:value</c> of the announced integrity, or <c>pub:</c> + publication time when none was announced.</param>
public sealed record FileId(string DataId, string Checksum)
{
    public static FileId Of(Announcement a) => new(a.DataId,
        a.Integrity is { } i
            ? i.Method + ":" + i.Value
            : "pub:" + a.PublishedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));

    public override string ToString() => DataId + "#" + Checksum;
}

internal sealed class DatasetIdJsonConverter : JsonConverter<DatasetId>
{
    public override DatasetId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(reader.GetString() ?? throw new JsonException("dataset id is null"));

    public override void Write(Utf8JsonWriter writer, DatasetId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Value);
}

internal sealed class ModelRunIdJsonConverter : JsonConverter<ModelRunId>
{
    public override ModelRunId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var s = reader.GetString();
        return ModelRunId.TryParse(s, out var id) ? id : throw new JsonException($"'{s}' is not a model run id");
    }

    public override void Write(Utf8JsonWriter writer, ModelRunId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
