using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Actors.Serialization;

/// <summary>
/// The compact binary form of the <see cref="ModelRunState"/> snapshot (manifest MRS2). A run's snapshot holds every
/// file it admitted with its announcement, and is written again every <c>SnapshotEvery</c> files: as JSON that cost
/// ~10 us per file each time, more than the admission itself. Each file is written as in <see cref="AdmissionEncoding"/>
/// (shared strings once), then its progress. Snapshots written as JSON before (MRS1) are still read.
/// <code>
/// version:byte(1) dataset:str referenceTime:time generation:varint completedGeneration:(flag varint)
///   finalizedGeneration:(flag varint) lastAdmittedAt:(flag time) completedAt:(flag time) completionReason:str?
///   count:varint { key:str file (as in a FilesAdmitted batch) status:byte attempts:varint admittedAt:time
///   retryDueAt:(flag time) failureReason:str? }*
/// </code>
/// </summary>
public static class SnapshotEncoding
{
    private const byte Version = 1;

    public static byte[] Write(ModelRunState s)
    {
        using var stream = new MemoryStream(128 + s.Files.Count * 160);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        var table = new Dictionary<string, int>(StringComparer.Ordinal);
        w.Write(Version);
        AdmissionEncoding.WriteString(w, table, s.RunId.Dataset.Value);
        AdmissionEncoding.WriteTime(w, s.RunId.ReferenceTime);
        w.Write7BitEncodedInt(s.Generation);
        WriteOptional(w, s.CompletedGeneration);
        WriteOptional(w, s.FinalizedGeneration);
        WriteOptional(w, s.LastAdmittedAt);
        WriteOptional(w, s.CompletedAt);
        AdmissionEncoding.WriteString(w, table, s.CompletionReason);
        w.Write7BitEncodedInt(s.Files.Count);
        foreach (var (key, f) in s.Files)
        {
            AdmissionEncoding.WriteString(w, table, key);
            AdmissionEncoding.WriteFile(w, table, f.Id, f.Announcement, f.Variable, f.Step, f.Key);
            w.Write((byte)f.Status);
            w.Write7BitEncodedInt(f.Attempts);
            AdmissionEncoding.WriteTime(w, f.AdmittedAt);
            WriteOptional(w, f.RetryDueAt);
            AdmissionEncoding.WriteString(w, table, f.FailureReason);
        }

        w.Flush();
        return stream.ToArray();
    }

    public static ModelRunState Read(byte[] bytes, string manifest)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
            var version = r.ReadByte();
            if (version != Version) throw new SerializationException($"manifest '{manifest}': unknown ModelRunState encoding version {version}");
            var table = new List<string>();
            var run = new ModelRunId(new DatasetId(AdmissionEncoding.Required(r, table, "dataset")), AdmissionEncoding.ReadTime(r));
            var generation = r.Read7BitEncodedInt();
            var completedGeneration = ReadOptionalInt(r);
            var finalizedGeneration = ReadOptionalInt(r);
            var lastAdmittedAt = ReadOptionalTime(r);
            var completedAt = ReadOptionalTime(r);
            var completionReason = AdmissionEncoding.ReadString(r, table);
            var count = r.Read7BitEncodedInt();
            if (count < 0 || count > bytes.Length) throw new SerializationException($"manifest '{manifest}': {count} files in {bytes.Length} bytes");
            var files = ImmutableDictionary.CreateBuilder<string, FileEntry>(StringComparer.Ordinal);
            for (var n = 0; n < count; n++)
            {
                var key = AdmissionEncoding.Required(r, table, "file key");
                var a = AdmissionEncoding.ReadFile(r, table);
                var status = r.ReadByte();
                if (!Enum.IsDefined((FileStatus)status)) throw new FormatException($"file '{a.File.DataId}' has an unknown status {status}");
                var entry = new FileEntry(a.File, a.Announcement, a.Variable, a.Step, a.Key, (FileStatus)status, r.Read7BitEncodedInt(),
                    AdmissionEncoding.ReadTime(r), ReadOptionalTime(r), AdmissionEncoding.ReadString(r, table));
                if (!files.TryAdd(key, entry)) throw new FormatException($"file '{key}' appears twice");
            }

            if (r.BaseStream.Position != bytes.Length)
                throw new SerializationException($"manifest '{manifest}': {bytes.Length - r.BaseStream.Position} bytes after the last file");
            return new ModelRunState(run, files.ToImmutable(), generation, completedGeneration, finalizedGeneration, lastAdmittedAt, completedAt,
                completionReason);
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException or IOException or UriFormatException)
        {
            throw new SerializationException($"manifest '{manifest}' (ModelRunState): cannot read {bytes.Length} bytes: {e.Message}", e);
        }
    }

    private static void WriteOptional(BinaryWriter w, int? value)
    {
        w.Write(value.HasValue);
        if (value is { } v) w.Write7BitEncodedInt(v);
    }

    private static void WriteOptional(BinaryWriter w, DateTimeOffset? value)
    {
        w.Write(value.HasValue);
        if (value is { } v) AdmissionEncoding.WriteTime(w, v);
    }

    private static int? ReadOptionalInt(BinaryReader r) => r.ReadBoolean() ? r.Read7BitEncodedInt() : null;

    private static DateTimeOffset? ReadOptionalTime(BinaryReader r) => r.ReadBoolean() ? AdmissionEncoding.ReadTime(r) : null;
}
