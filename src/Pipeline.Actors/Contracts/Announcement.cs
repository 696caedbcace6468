namespace Pipeline.Actors.Contracts;

/// <summary>
/// One announced file, whatever the broker and message format it came from (Sarracenia v02/v03, WIS2 WNM,
/// S3 event, directory poll, manual injection). This is the unit the ModelRun entity admits.
/// </summary>
/// <param name="Source">The configured source that received it (e.g. <c>datamart-amqp</c>).</param>
/// <param name="Format">The message format: see <see cref="AnnouncementFormats"/>.</param>
/// <param name="DataId">Stable identity of the file: WNM <c>data_id</c>, Sarracenia relPath, S3 bucket/key.</param>
/// <param name="Location">Where to fetch it: an http, https or s3 URI.</param>
/// <param name="RelPath">The path relative to the base URL (Sarracenia relPath, S3 key); used by dataset rules.</param>
/// <param name="Topic">The broker topic or routing key it arrived on, if any.</param>
/// <param name="Size">Announced size in bytes, if known.</param>
/// <param name="Integrity">Announced checksum, if any.</param>
/// <param name="PublishedAt">Publication time as announced (pubTime / pubtime / eventTime).</param>
/// <param name="RawMessage">The original message body, kept for re-posting and dead-lettering.</param>
/// <param name="Relation">What the announcement says happened to the file: <see cref="AnnouncementRelations"/>
/// (WNM link rel <c>canonical</c>/<c>update</c>/<c>deletion</c>; Sarracenia remove; S3 ObjectRemoved).
/// Null is the same as <see cref="AnnouncementRelations.Canonical"/>: a new file.</param>
public sealed record Announcement(
    string Source,
    string Format,
    string DataId,
    Uri Location,
    string RelPath,
    string? Topic,
    long? Size,
    Integrity? Integrity,
    DateTimeOffset PublishedAt,
    string RawMessage,
    string? Relation = null);

/// <summary>The WNM link relations, used for every format: a new file, a changed file, a removed file.</summary>
public static class AnnouncementRelations
{
    public const string Canonical = "canonical";
    public const string Update = "update";
    public const string Deletion = "deletion";
}

/// <summary>An announced checksum. <paramref name="Method"/> is one of <see cref="IntegrityMethods"/>.</summary>
/// <param name="Method">md5, sha256, sha512, or another method name as announced (arbitrary, cod, ...).</param>
/// <param name="Value">The checksum as announced, normalised to base64 for md5/sha256/sha512.</param>
public sealed record Integrity(string Method, string Value);

public static class IntegrityMethods
{
    public const string Md5 = "md5";
    public const string Sha256 = "sha256";
    public const string Sha512 = "sha512";
}

public static class AnnouncementFormats
{
    public const string SarraceniaV03 = "sarracenia-v03";
    public const string SarraceniaV02 = "sarracenia-v02";
    public const string Wis2 = "wis2-wnm";
    public const string S3Event = "s3-event";
    public const string Poll = "poll";
    public const string Manual = "manual";
}
