using System.Runtime.Serialization;
using System.Text;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Actors.Serialization;

/// <summary>
/// The compact binary form of <see cref="FilesAdmitted"/>, the event on admission's hot path (one per broker batch,
/// hundreds of announcements each). Length-prefixed UTF-8 strings; short strings that repeat within the batch
/// (source, format, topic, checksum method, variable) are written once and referred to by index; a relPath equal to
/// the data id is not written again. Times are UTC ticks plus the offset in minutes, so they read back exactly.
/// <code>
/// version:byte(1) at:time count:varint { dataId:str checksum:str source:str format:str location:str relPath:str?
///   topic:str? size:(flag int64) integrity:(flag method:str value:str) publishedAt:time raw:str relation:str?
///   variable:str? step:str? key:str }*
/// str: varint 0 null | 1 literal (varint length, UTF-8) | n+2 the n-th literal of this payload
/// </code>
/// </summary>
public static class AdmissionEncoding
{
    private const byte Version = 1;
    private const int MaxShared = 64;

    public static byte[] Write(FilesAdmitted e)
    {
        using var stream = new MemoryStream(64 + e.Files.Count * 256);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        var table = new Dictionary<string, int>(StringComparer.Ordinal);
        w.Write(Version);
        WriteTime(w, e.At);
        w.Write7BitEncodedInt(e.Files.Count);
        foreach (var f in e.Files) WriteFile(w, table, f.File, f.Announcement, f.Variable, f.Step, f.Key);

        w.Flush();
        return stream.ToArray();
    }

    /// <summary>One admitted file: the part of the batch form that the snapshot form (<see cref="SnapshotEncoding"/>) shares.</summary>
    internal static void WriteFile(BinaryWriter w, Dictionary<string, int> table, FileId file, Announcement a, string? variable, string? step, string key)
    {
        WriteString(w, table, file.DataId);
        WriteString(w, table, file.Checksum);
        WriteString(w, table, a.Source);
        WriteString(w, table, a.Format);
        WriteString(w, table, a.DataId == file.DataId ? null : a.DataId);
        WriteString(w, table, a.Location.OriginalString);
        WriteString(w, table, a.RelPath == a.DataId ? null : a.RelPath);
        WriteString(w, table, a.Topic);
        w.Write(a.Size.HasValue);
        if (a.Size is { } size) w.Write(size);
        w.Write(a.Integrity is not null);
        if (a.Integrity is { } i)
        {
            WriteString(w, table, i.Method);
            WriteString(w, table, i.Value);
        }

        WriteTime(w, a.PublishedAt);
        WriteString(w, table, a.RawMessage);
        WriteString(w, table, a.Relation);
        WriteString(w, table, variable);
        WriteString(w, table, step);
        WriteString(w, table, key);
    }

    public static FilesAdmitted Read(byte[] bytes, string manifest)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
            var version = r.ReadByte();
            if (version != Version) throw new SerializationException($"manifest '{manifest}': unknown FilesAdmitted encoding version {version}");
            var table = new List<string>();
            var at = ReadTime(r);
            var count = r.Read7BitEncodedInt();
            if (count < 0 || count > bytes.Length) throw new SerializationException($"manifest '{manifest}': {count} files in {bytes.Length} bytes");
            var files = new AdmittedFile[count];
            for (var n = 0; n < count; n++) files[n] = ReadFile(r, table);

            if (r.BaseStream.Position != bytes.Length)
                throw new SerializationException($"manifest '{manifest}': {bytes.Length - r.BaseStream.Position} bytes after the last file");
            return new FilesAdmitted(files, at);
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException or IOException or UriFormatException)
        {
            throw new SerializationException($"manifest '{manifest}' (FilesAdmitted): cannot read {bytes.Length} bytes: {e.Message}", e);
        }
    }

    /// <summary>Reads what <see cref="WriteFile"/> wrote.</summary>
    internal static AdmittedFile ReadFile(BinaryReader r, List<string> table)
    {
        var dataId = Required(r, table, "data id");
        var checksum = Required(r, table, "checksum");
        var source = Required(r, table, "source");
        var format = Required(r, table, "format");
        var announcedId = ReadString(r, table) ?? dataId;
        var location = new Uri(Required(r, table, "location"), UriKind.RelativeOrAbsolute);
        var relPath = ReadString(r, table) ?? announcedId;
        var topic = ReadString(r, table);
        long? size = r.ReadBoolean() ? r.ReadInt64() : null;
        var integrity = r.ReadBoolean() ? new Integrity(Required(r, table, "integrity method"), Required(r, table, "integrity value")) : null;
        var published = ReadTime(r);
        var raw = Required(r, table, "raw message");
        var relation = ReadString(r, table);
        var announcement = new Announcement(source, format, announcedId, location, relPath, topic, size, integrity, published, raw, relation);
        return new AdmittedFile(new FileId(dataId, checksum), announcement, ReadString(r, table), ReadString(r, table),
            Required(r, table, "key"));
    }

    internal static void WriteTime(BinaryWriter w, DateTimeOffset t)
    {
        w.Write(t.UtcTicks);
        w.Write((short)t.Offset.TotalMinutes);
    }

    internal static DateTimeOffset ReadTime(BinaryReader r)
    {
        var ticks = r.ReadInt64();
        var offset = TimeSpan.FromMinutes(r.ReadInt16());
        return new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(offset);
    }

    internal static void WriteString(BinaryWriter w, Dictionary<string, int> table, string? s)
    {
        if (s is null)
        {
            w.Write7BitEncodedInt(0);
            return;
        }

        if (table.TryGetValue(s, out var index))
        {
            w.Write7BitEncodedInt(index + 2);
            return;
        }

        w.Write7BitEncodedInt(1);
        w.Write(s); // length-prefixed UTF-8
        if (s.Length <= MaxShared) table[s] = table.Count;
    }

    internal static string? ReadString(BinaryReader r, List<string> table)
    {
        var tag = r.Read7BitEncodedInt();
        switch (tag)
        {
            case 0:
                return null;
            case 1:
                var s = r.ReadString();
                if (s.Length <= MaxShared) table.Add(s);
                return s;
            default:
                var index = tag - 2;
                if (index < 0 || index >= table.Count) throw new FormatException($"string reference {index} beyond the {table.Count} read so far");
                return table[index];
        }
    }

    internal static string Required(BinaryReader r, List<string> table, string what) =>
        ReadString(r, table) ?? throw new FormatException($"the {what} is missing");
}
