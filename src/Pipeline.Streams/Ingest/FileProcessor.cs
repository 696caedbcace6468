using System.Security.Cryptography;
using System.Text;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.ModelRuns;
using Pipeline.Grib2;
using Pipeline.Grib2.Indexing;
using Pipeline.NetCdf;
using Pipeline.NetCdf.References;
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
/// <param name="ProductKey">The key of what the file's notification links to: its own Zarr (<c>files/NAME.zarr</c>), or with
/// <c>Outputs:FileZarr</c> <c>staging</c> its kerchunk references (<c>refs/NAME.json</c>; the staging area is no product).</param>
/// <param name="ProductBytes">Bytes of that product (the Zarr's objects, or the references document).</param>
/// <param name="ProductSha512">SHA-512 of the Zarr's consolidated metadata, or of the references document (the notification's integrity).</param>
/// <param name="Bounds">The grid's bounding box (west, south, east, north), when the grid has coordinates.</param>
/// <param name="ValidFrom">Earliest valid time of the fields.</param>
/// <param name="ValidTo">Latest valid time of the fields.</param>
/// <param name="Format">What the file is (by its content).</param>
/// <param name="Problems">What could not be indexed (NetCDF: per variable), the file's other products stand.</param>
/// <param name="ProductMediaType">The media type of the product: <c>application/vnd+zarr</c> or <c>application/json</c> (references).</param>
public sealed record ProcessedFile(
    string Name,
    int Fields,
    long Values,
    string ProductKey,
    long ProductBytes,
    byte[] ProductSha512,
    (double West, double South, double East, double North)? Bounds,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidTo,
    InputFormat Format = InputFormat.Grib2,
    IReadOnlyList<string>? Problems = null,
    string ProductMediaType = ProcessedFile.ZarrMediaType)
{
    public const string ZarrMediaType = "application/vnd+zarr";

    /// <summary>kerchunk references are JSON (no registered type of their own).</summary>
    public const string ReferencesMediaType = "application/json";
}

/// <summary>The formats the ingest graph reads, told apart by content, never by name.</summary>
public enum InputFormat
{
    /// <summary>GRIB edition 2 (anything that is not NetCDF goes to the GRIB2 reader, which says what it found).</summary>
    Grib2,
    /// <summary>NetCDF-3: classic (<c>CDF\x01</c>), 64-bit offset (<c>CDF\x02</c>), 64-bit data (<c>CDF\x05</c>).</summary>
    NetCdf3,
    /// <summary>NetCDF-4 (the HDF5 signature <c>\x89HDF\r\n\x1a\n</c>).</summary>
    NetCdf4,
}

public static class InputFormats
{
    /// <summary>The format of a local file from its first bytes.</summary>
    public static InputFormat Detect(string path)
    {
        Span<byte> head = stackalloc byte[8];
        using var s = File.OpenRead(path);
        var n = s.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        return NetCdfFile.Detect(head[..n]) switch
        {
            NetCdfFormat.Hdf5 => InputFormat.NetCdf4,
            null => InputFormat.Grib2,
            _ => InputFormat.NetCdf3,
        };
    }

    public static bool IsNetCdf(this InputFormat f) => f is InputFormat.NetCdf3 or InputFormat.NetCdf4;

    /// <summary>
    /// The media type of an original file, for the <c>via</c> link of notifications: <c>application/grib</c>,
    /// <c>application/netcdf</c> (NetCDF-3, the type Unidata registers) or <c>application/x-netcdf4</c> (NetCDF-4/HDF5).
    /// </summary>
    public static string MediaType(this InputFormat f) => f switch
    {
        InputFormat.NetCdf3 => "application/netcdf",
        InputFormat.NetCdf4 => "application/x-netcdf4",
        _ => "application/grib",
    };

    /// <summary>The name in manifests: <c>grib2</c>, <c>netcdf3</c>, <c>netcdf4</c>.</summary>
    public static string Name(this InputFormat f) => f switch
    {
        InputFormat.NetCdf3 => "netcdf3",
        InputFormat.NetCdf4 => "netcdf4",
        _ => "grib2",
    };
}

/// <summary>A file that cannot be decoded: the reason names the file, the message and the offset.</summary>
public sealed class FileRejectedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The decode-and-write step for one fetched GRIB2 file: its own cfgrib-layout Zarr (chunks and consolidated
/// metadata; with <c>Outputs:FileZarr</c> <c>staging</c>, the default, only the data chunks and the consolidated
/// metadata, what the run Zarr is assembled from), kerchunk <c>scan_grib</c>-style references pointing at the original file's URL, and a wgrib2-style
/// <c>.idx</c>. Every key is deterministic (<see cref="OutputLayout"/>), every object written whole, so processing a
/// file twice writes the same bytes. Thread-safe; the graph runs several at once.
/// </summary>
public sealed class FileProcessor(OutputStores stores)
{
    public OutputStores Stores { get; } = stores;

    public async Task<ProcessedFile> ProcessAsync(FileWork work, string localPath, OutputOptions outputs, CancellationToken cancellationToken = default)
    {
        var format = InputFormats.Detect(localPath);
        return format.IsNetCdf()
            ? await ProcessNetCdfAsync(work, localPath, format, outputs, cancellationToken).ConfigureAwait(false)
            : await ProcessGribAsync(work, localPath, outputs, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ProcessedFile> ProcessGribAsync(FileWork work, string localPath, OutputOptions outputs, CancellationToken cancellationToken)
    {
        var store = Stores.Get(outputs.Store);
        var name = OutputLayout.FileName(work.File.DataId);
        var origin = work.Announcement.Location.AbsoluteUri;
        var warnings = new List<string>();

        // Mapped, not read onto the heap: the records are only looked at (the conversion maps the file again to decode),
        // so a 0.25 degree file costs its headers' pages here, not a large array per file for the GC to collect.
        MappedGribFile mapped;
        IReadOnlyList<GribMessage> messages;
        IReadOnlyList<GribFieldRecord> records;
        try
        {
            mapped = MappedGribFile.Open(localPath, w => warnings.Add(w));
            try
            {
                messages = mapped.Messages;
                records = GribFieldRecord.Of(mapped);
            }
            catch
            {
                mapped.Dispose();
                throw;
            }
        }
        catch (GribFormatException e)
        {
            throw new FileRejectedException($"{origin}: not readable GRIB2: {e.Message}", e);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidDataException or ArgumentException)
        {
            throw new FileRejectedException($"{origin}: {e.Message}", e);
        }
        using var _ = mapped;
        if (records.Count == 0)
            throw new FileRejectedException($"{origin}: no GRIB2 field in the file{(warnings.Count > 0 ? " (" + string.Join("; ", warnings) + ")" : "")}");

        // 1. The file's own Zarr, cfgrib layout: the product notified as soon as the file is done. Its size and the
        // hash of its consolidated metadata come from what the conversion wrote: nothing is read back or listed.
        // Staging: only the data chunks and the consolidated metadata (12 objects instead of 133 for an 11-field file),
        // what the run Zarr is assembled from; the notification then links the references.
        var staging = FileZarrModes.IsStaging(outputs);
        var zarrKey = staging ? OutputLayout.FileStaging(work.RunId, name) : OutputLayout.FileZarr(work.RunId, name);
        var fileStore = new PrefixedStore(store, zarrKey);
        ConversionSummary summary;
        try
        {
            summary = await GribToZarr.ConvertAsync([localPath], fileStore, Options(outputs) with { Staging = staging }, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new FileRejectedException($"{origin}: {e.Message.Replace(localPath, origin, StringComparison.Ordinal)}", e);
        }

        // 2. References into the original file, by its URL, one set per field (scan_grib's list), and 3. the
        // byte-range index of the original file, both at once.
        var cubes = CfgribMapping.Plan(records, CodecPipeline.None);
        var sets = cubes.SelectMany(c => c.Fields.Select(f => (Field: f, Refs: Resolved(GribReferences.ForMessage(c, f), origin))))
            .OrderBy(p => p.Field.MessageNumber).ThenBy(p => p.Field.Field.IndexInMessage).Select(p => p.Refs).ToList();
        var references = JsonArrayOf(sets);
        var refsKey = OutputLayout.FileReferences(work.RunId, name);
        await Task.WhenAll(
            store.PutAsync(refsKey, references, cancellationToken),
            store.PutAsync(OutputLayout.FileIdx(work.RunId, name), Encoding.UTF8.GetBytes(Idx.Write(Inventory.Build(messages))), cancellationToken))
            .ConfigureAwait(false);

        var box = records[0].Grid.GetBoundingBox();
        var valid = records.Select(r => DateTimeOffset.FromUnixTimeSeconds((long)(r.TimeSeconds + r.StepHours * 3600))).ToList();
        var (productKey, productBytes, productSha, mediaType) = staging
            ? (refsKey, references.LongLength, SHA512.HashData(references), ProcessedFile.ReferencesMediaType)
            : (zarrKey, summary.StoredBytes, SHA512.HashData(summary.Metadata ?? []), ProcessedFile.ZarrMediaType);
        return new ProcessedFile(name, summary.Fields, summary.Values, productKey, productBytes, productSha,
            box is null ? null : (box.West, box.South, box.East, box.North), valid.Min(), valid.Max(), InputFormat.Grib2, summary.Warnings, mediaType);
    }

    /// <summary>
    /// A NetCDF file: kerchunk references into the original (by its URL; chunks zarr cannot read are converted and
    /// inlined), its own Zarr (the references made real: chunks copied as stored, what <c>pipeline zarr convert</c>
    /// writes), no <c>.idx</c> (byte ranges of NetCDF are the references). A file whose data runs past its end
    /// (truncated) or whose header cannot be read is rejected naming the URL and what broke; a variable that cannot
    /// be read (an unsupported filter) is left out with a problem and the rest is indexed.
    /// </summary>
    private async Task<ProcessedFile> ProcessNetCdfAsync(FileWork work, string localPath, InputFormat format, OutputOptions outputs, CancellationToken cancellationToken)
    {
        var store = Stores.Get(outputs.Store);
        var name = OutputLayout.FileName(work.File.DataId);
        var origin = work.Announcement.Location.AbsoluteUri;
        if (FileProcessor.Format(outputs) == ZarrFormat.V3)
            throw new FileRejectedException($"{origin}: NetCDF is written as Zarr v2 (chunks copied as stored, with numcodecs filters); the dataset asks for zarr3");
        string Clean(string message) => message.Replace(Path.GetFullPath(localPath), origin, StringComparison.Ordinal).Replace(localPath, origin, StringComparison.Ordinal);

        NetCdfFile file;
        try
        {
            file = NetCdfFile.Open(localPath);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new FileRejectedException($"{origin}: not readable {(format == InputFormat.NetCdf4 ? "NetCDF-4/HDF5" : "NetCDF-3")}: {Clean(e.Message)}", e);
        }
        using (file)
        {
            // Truncation: the file is shorter than its header (or its chunk index) says; nothing is indexed.
            if (file.Truncation is { } cut) throw new FileRejectedException($"{origin}: truncated: {Clean(cut)}");
            NetCdfReferenceResult refs;
            try
            {
                refs = await NetCdfReferences.BuildAsync(file, origin, new ReferenceOptions(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException)
            {
                throw new FileRejectedException($"{origin}: {Clean(e.Message)}", e);
            }
            var indexed = file.Variables.Where(v => refs.Outcomes.TryGetValue(v.Name, out var o) && o != VariableOutcome.Failed).ToList();
            var failed = refs.Problems.Where(p => refs.Outcomes.GetValueOrDefault(p.Variable) == VariableOutcome.Failed || !refs.Outcomes.ContainsKey(p.Variable))
                .Select(p => $"variable '{p.Variable}': {Clean(p.Message)}").ToList();
            if (indexed.Count == 0)
                throw new FileRejectedException($"{origin}: no variable of the NetCDF file could be read{(failed.Count > 0 ? ": " + string.Join("; ", failed) : "")}");

            var zarrKey = OutputLayout.FileZarr(work.RunId, name);
            var fileStore = new PrefixedStore(store, zarrKey);
            try
            {
                await NetCdfZarr.WriteAsync(refs.References, url => url == origin ? localPath : null, fileStore, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                throw new FileRejectedException($"{origin}: {Clean(e.Message)}", e);
            }
            await store.PutAsync(OutputLayout.FileReferences(work.RunId, name), refs.References.ToJson(), cancellationToken).ConfigureAwait(false);
            var interim = await GrowRunReferencesAsync(store, work, file, refs.References, cancellationToken).ConfigureAwait(false);

            var metadata = await fileStore.TryGetAsync(".zmetadata", cancellationToken).ConfigureAwait(false) ?? [];
            var bytes = 0L;
            await foreach (var o in fileStore.ListAsync("", cancellationToken).ConfigureAwait(false)) bytes += o.Length;
            var coverage = NetCdfCoverage.Of(file);
            return new ProcessedFile(name, indexed.Count, indexed.Sum(v => v.ElementCount), zarrKey, bytes, SHA512.HashData(metadata), coverage.Bounds,
                coverage.From, coverage.To, format, interim is null ? failed : [.. failed, interim]);
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _runLocks = new(StringComparer.Ordinal);

    /// <summary>
    /// The run's combined references grown by this file, before the run completes (the forecast-model-run collection
    /// the OFS seed rebuilds with <c>MultiZarrToZarr</c> as objects land): the accumulated per-file sets are read from
    /// the store, this file's added (keyed by its URL, so a re-driven file replaces itself), and both the state and
    /// <c>refs/run[.VAR].json</c> written back. One writer per run group on this node; finalization writes the
    /// complete set under the same key. A file that cannot join (no unlimited dimension, overlapping times) is not a
    /// failure: the reason is returned as a problem and finalization decides.
    /// </summary>
    private async Task<string?> GrowRunReferencesAsync(IObjectStore store, FileWork work, NetCdfFile file, Zarr.Kerchunk.ReferenceSet refs,
        CancellationToken cancellationToken)
    {
        var unlimited = file.Dimensions.FirstOrDefault(d => d.IsUnlimited)?.Name;
        if (unlimited is null) return null; // nothing to grow along; the run is combined (or not) when it completes
        var group = OutputLayout.NetCdfProduct(work.Variable);
        var stateKey = OutputLayout.RunReferencesState(work.RunId, group);
        var gate = _runLocks.GetOrAdd(stateKey, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var saved = await store.TryGetAsync(stateKey, cancellationToken).ConfigureAwait(false);
            RunReferences run;
            try
            {
                run = saved is null ? new RunReferences(unlimited) : RunReferences.FromJson(saved);
            }
            catch (InvalidDataException)
            {
                run = new RunReferences(unlimited); // an unreadable state is rebuilt from the files that arrive next
            }
            if (run.ConcatDim != unlimited)
                return $"not in the interim run references: its unlimited dimension is '{unlimited}', the run's '{run.ConcatDim}'";
            var url = work.Announcement.Location.AbsoluteUri;
            try
            {
                if (!run.Add(url, refs)) return null;
            }
            catch (InvalidDataException e)
            {
                return "not in the interim run references: " + e.Message;
            }
            await store.PutAsync(stateKey, run.ToJson(), cancellationToken).ConfigureAwait(false);
            await store.PutAsync(OutputLayout.RunReferences(work.RunId, group), run.Build().ToJson(), cancellationToken).ConfigureAwait(false);
            return null;
        }
        finally
        {
            gate.Release();
        }
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
