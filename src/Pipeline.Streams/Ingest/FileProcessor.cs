using System.Security.Cryptography;
using System.Text;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.ModelRuns;
using Pipeline.Grib2;
using Pipeline.Grib2.Indexing;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;

namespace Pipeline.Streams.Ingest;

/// <summary>What processing one file produced.</summary>
/// <param name="Name">The file's key-safe name (<see cref="OutputLayout.FileName"/>).</param>
/// <param name="Fields">GRIB2 fields decoded and written.</param>
/// <param name="Values">Grid point values decoded.</param>
/// <param name="ZarrKey">The per-file Zarr's key in the dataset store.</param>
/// <param name="ZarrBytes">Bytes the per-file Zarr occupies.</param>
/// <param name="MetadataSha512">SHA-512 of the per-file Zarr's consolidated metadata (the notification's integrity).</param>
/// <param name="Bounds">The grid's bounding box (west, south, east, north), when the grid has coordinates.</param>
/// <param name="ValidFrom">Earliest valid time of the fields.</param>
/// <param name="ValidTo">Latest valid time of the fields.</param>
public sealed record ProcessedFile(
    string Name,
    int Fields,
    long Values,
    string ZarrKey,
    long ZarrBytes,
    byte[] MetadataSha512,
    (double West, double South, double East, double North)? Bounds,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidTo);

/// <summary>A file that cannot be decoded: the reason names the file, the message and the offset.</summary>
public sealed class FileRejectedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The decode-and-write step for one fetched GRIB2 file: its own cfgrib-layout Zarr (chunks and consolidated
/// metadata), kerchunk <c>scan_grib</c>-style references pointing at the original file's URL, and a wgrib2-style
/// <c>.idx</c>. Every key is deterministic (<see cref="OutputLayout"/>), every object written whole, so processing a
/// file twice writes the same bytes. Thread-safe; the graph runs several at once.
/// </summary>
public sealed class FileProcessor(OutputStores stores)
{
    public OutputStores Stores { get; } = stores;

    public async Task<ProcessedFile> ProcessAsync(FileWork work, string localPath, OutputOptions outputs, CancellationToken cancellationToken = default)
    {
        var store = Stores.Get(outputs.Store);
        var name = OutputLayout.FileName(work.File.DataId);
        var origin = work.Announcement.Location.AbsoluteUri;
        var warnings = new List<string>();

        IReadOnlyList<GribMessage> messages;
        IReadOnlyList<GribFieldRecord> records;
        try
        {
            messages = GribFile.Read(localPath, w => warnings.Add(w));
            var list = new List<GribFieldRecord>();
            for (var m = 0; m < messages.Count; m++)
                foreach (var field in messages[m].Fields)
                    list.Add(GribFieldRecord.FromField(localPath, m + 1, field));
            records = list;
        }
        catch (GribFormatException e)
        {
            throw new FileRejectedException($"{origin}: not readable GRIB2: {e.Message}", e);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidDataException or ArgumentException)
        {
            throw new FileRejectedException($"{origin}: {e.Message}", e);
        }
        if (records.Count == 0)
            throw new FileRejectedException($"{origin}: no GRIB2 field in the file{(warnings.Count > 0 ? " (" + string.Join("; ", warnings) + ")" : "")}");

        // 1. The file's own Zarr, cfgrib layout: the product notified as soon as the file is done.
        var zarrKey = OutputLayout.FileZarr(work.RunId, name);
        var fileStore = new PrefixedStore(store, zarrKey);
        ConversionSummary summary;
        try
        {
            summary = await GribToZarr.ConvertAsync([localPath], fileStore, Options(outputs), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new FileRejectedException($"{origin}: {e.Message.Replace(localPath, origin, StringComparison.Ordinal)}", e);
        }

        // 2. References into the original file, by its URL, one set per field (scan_grib's list).
        var cubes = CfgribMapping.Plan(records, CodecPipeline.None);
        var sets = cubes.SelectMany(c => c.Fields.Select(f => (Field: f, Refs: Resolved(GribReferences.ForMessage(c, f), origin))))
            .OrderBy(p => p.Field.MessageNumber).ThenBy(p => p.Field.Field.IndexInMessage).Select(p => p.Refs).ToList();
        await store.PutAsync(OutputLayout.FileReferences(work.RunId, name), JsonArrayOf(sets), cancellationToken).ConfigureAwait(false);

        // 3. The byte-range index of the original file.
        await store.PutAsync(OutputLayout.FileIdx(work.RunId, name), Encoding.UTF8.GetBytes(Idx.Write(Inventory.Build(messages))), cancellationToken)
            .ConfigureAwait(false);

        var metadataKey = Format(outputs) == ZarrFormat.V3 ? "zarr.json" : ".zmetadata";
        var metadata = await fileStore.TryGetAsync(metadataKey, cancellationToken).ConfigureAwait(false) ?? [];
        var bytes = 0L;
        await foreach (var o in fileStore.ListAsync("", cancellationToken).ConfigureAwait(false)) bytes += o.Length;

        var box = records[0].Grid.GetBoundingBox();
        var valid = records.Select(r => DateTimeOffset.FromUnixTimeSeconds((long)(r.TimeSeconds + r.StepHours * 3600))).ToList();
        return new ProcessedFile(name, summary.Fields, summary.Values, zarrKey, bytes, SHA512.HashData(metadata),
            box is null ? null : (box.West, box.South, box.East, box.North), valid.Min(), valid.Max());
    }

    /// <summary>
    /// Conversion options from a dataset's outputs: <c>zarr2</c> (default) or <c>zarr3</c>; zstd level 1, with the
    /// byte-shuffle filter in Zarr v2 (what <c>pipeline zarr convert</c> writes by default: smaller and faster).
    /// </summary>
    public static ConversionOptions Options(OutputOptions outputs) => new()
    {
        Format = Format(outputs),
        Codecs = CodecPipeline.Parse("zstd:1", Format(outputs) == ZarrFormat.V2 ? 4 : 0),
        Parallelism = 1,
    };

    public static ZarrFormat Format(OutputOptions outputs) =>
        string.Equals(outputs.Format, "zarr3", StringComparison.OrdinalIgnoreCase) ? ZarrFormat.V3 : ZarrFormat.V2;

    /// <summary>The same references with the <c>{{u}}</c> template replaced by the file's URL (so sets of different files combine).</summary>
    public static ReferenceSet Resolved(ReferenceSet set, string url)
    {
        var resolved = new ReferenceSet();
        foreach (var key in set.Keys)
        {
            var r = set[key];
            resolved.Set(key, r.Url is null ? r
                : r.Offset is { } offset ? KerchunkRef.Range(Expand(r.Url, url), offset, r.Length ?? 0)
                : KerchunkRef.File(Expand(r.Url, url)));
        }
        return resolved;

        static string Expand(string template, string url) => template.Replace("{{u}}", url, StringComparison.Ordinal);
    }

    public static byte[] JsonArrayOf(IReadOnlyList<ReferenceSet> sets)
    {
        using var ms = new MemoryStream();
        ms.WriteByte((byte)'[');
        for (var i = 0; i < sets.Count; i++)
        {
            if (i > 0) ms.Write(", "u8);
            ms.Write(sets[i].ToJson());
        }
        ms.WriteByte((byte)']');
        return ms.ToArray();
    }
}
