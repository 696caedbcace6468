using System.CommandLine;
using System.Globalization;
using Pipeline.NetCdf;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Storage;

namespace Pipeline.Host.Commands;

/// <summary>
/// <c>pipeline zarr convert FILE... --out STORE [--format v2|v3] [--compressor zstd|zlib|none] [--refs]</c>
/// (fixed: other tools call it). STORE is a directory or <c>s3://bucket/prefix</c>; S3 endpoint, region and
/// credentials come from the usual AWS environment (<c>AWS_ENDPOINT_URL_S3</c>, <c>AWS_REGION</c>,
/// <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c> or <c>AWS_PROFILE</c>, <c>AWS_S3_FORCE_PATH_STYLE</c>).
/// </summary>
public static class ZarrCommands
{
    public static Command Build()
    {
        var zarr = new Command("zarr", "Write GRIB2 as Zarr (v2/v3) with cfgrib names and CF metadata, plus kerchunk references.");
        zarr.Subcommands.Add(Convert());
        return zarr;
    }

    private static Command Convert()
    {
        var files = new Argument<FileInfo[]>("FILE") { Description = "GRIB2 files (one model run, or any set), or NetCDF files (combined along their unlimited dimension).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Target store: a directory or s3://bucket/prefix.", Required = true };
        var format = new Option<string>("--format") { Description = "Zarr format: v2 (default) or v3.", DefaultValueFactory = _ => "v2" };
        format.AcceptOnlyFromAmong("v2", "v3");
        var compressor = new Option<string>("--compressor") { Description = "zstd, zlib, gzip or none; optional ':level' (zstd 3, zlib/gzip 5 when omitted). Default zstd:1.", DefaultValueFactory = _ => "zstd:1" };
        var shuffle = new Option<bool>("--shuffle")
        {
            Description = "Byte-shuffle float chunks before compressing (numcodecs 'shuffle' filter; Zarr v2 only): smaller and faster with zstd. Default true.",
            DefaultValueFactory = _ => true,
        };
        var refs = new Option<bool>("--refs") { Description = "Also write kerchunk references (refs/FILE.scan.json per message, refs/GROUP.json combined) and refs/FILE.idx." };
        var timings = new Option<bool>("--timings") { Description = "Print where the time went (phases; also with PIPELINE_ZARR_TIMINGS=1)." };
        var cmd = new Command("convert", "Convert GRIB2 files to one Zarr store: a group per cfgrib hypercube, consolidated metadata.")
        {
            files, output, format, compressor, shuffle, refs, timings,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var err = r.InvocationConfiguration.Error;
            var outWriter = r.InvocationConfiguration.Output;
            try
            {
                var zarrFormat = r.GetValue(format) == "v3" ? ZarrFormat.V3 : ZarrFormat.V2;
                var codecName = r.GetValue(compressor)!;
                // Zarr v3 has no zlib codec: gzip is the same deflate stream with a different wrapper.
                if (zarrFormat == ZarrFormat.V3 && codecName.StartsWith("zlib", StringComparison.OrdinalIgnoreCase))
                {
                    err.WriteLine("note: Zarr v3 has no zlib codec; using gzip");
                    codecName = "gzip" + codecName[4..];
                }
                // Zarr v3 core has no shuffle codec: the filter applies to v2 only.
                var compressed = !codecName.StartsWith("none", StringComparison.OrdinalIgnoreCase);
                var codecs = CodecPipeline.Parse(codecName, r.GetValue(shuffle) && compressed && zarrFormat == ZarrFormat.V2 ? 4 : 0);
                var (store, dispose) = await OpenStoreAsync(r.GetValue(output)!, ct);
                try
                {
                    var paths = r.GetValue(files)!.Select(f => f.FullName).ToList();
                    if (paths.Any(p => File.Exists(p) && NetCdfFile.IsNetCdf(p))) return await ConvertNetCdfAsync(paths, store, zarrFormat, outWriter, err, ct);
                    var interactive = !Console.IsErrorRedirected;
                    var progress = new Progress<ConversionProgress>(p =>
                    {
                        if (interactive) err.Write($"\r[{Bar(p.Done, p.Total)}] {p.Done}/{p.Total} fields ({p.Group})   ");
                    });
                    var profile = r.GetValue(timings) || Environment.GetEnvironmentVariable("PIPELINE_ZARR_TIMINGS") is "1" or "true"
                        ? new ConversionTimings() : null;
                    var summary = await GribToZarr.ConvertAsync(paths, store, new ConversionOptions
                    {
                        Format = zarrFormat, Codecs = codecs, References = r.GetValue(refs), Timings = profile,
                    }, progress, ct);
                    if (interactive) err.WriteLine();
                    if (profile is not null) err.Write("timings:\n" + profile);
                    foreach (var w in summary.Warnings) err.WriteLine("warning: " + w);
                    outWriter.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{summary.Files} files, {summary.Fields} fields, {summary.Groups} groups ({string.Join(", ", summary.GroupNames)}) -> {store.Location}"));
                    var repeated = summary.Duplicates > 0 ? $"; {summary.Duplicates} repeated fields skipped" : "";
                    outWriter.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{summary.Values:N0} values in {summary.Elapsed.TotalSeconds:F2} s: {summary.ValuesPerSecond / 1e6:F1} M values/s, {summary.RawMegabytesPerSecond:F1} MB/s (float32); stored {summary.StoredBytes / 1e6:F1} MB{repeated}"));
                    return 0;
                }
                finally
                {
                    dispose?.Dispose();
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
            {
                err.WriteLine("error: " + e.Message);
                return 1;
            }
        });
        return cmd;
    }

    // NetCDF (detected by the HDF5 or CDF signature): the files' references made real in the store (issue 10).
    private static async Task<int> ConvertNetCdfAsync(List<string> paths, IObjectStore store, ZarrFormat format, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!paths.All(p => File.Exists(p) && NetCdfFile.IsNetCdf(p))) throw new ArgumentException("a mix of NetCDF and other files: convert them separately");
        if (format != ZarrFormat.V2) throw new ArgumentException("NetCDF files are written as Zarr v2 (their zlib/shuffle chunks are copied as stored): use --format v2");
        var result = await NetCdfZarr.ConvertAsync(paths, store, null, ct);
        foreach (var p in result.Problems) err.WriteLine("warning: " + p);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Files} NetCDF files{(result.ConcatDim is null ? "" : $" along '{result.ConcatDim}'")}, {result.Arrays} arrays, {result.Objects} objects, {result.Bytes / 1e6:F1} MB -> {store.Location}"));
        return 0;
    }

    private static async Task<(IObjectStore Store, IDisposable? Dispose)> OpenStoreAsync(string target, CancellationToken ct)
    {
        if (target.StartsWith("s3://", StringComparison.Ordinal))
        {
            var options = S3StoreOptions.FromUri(target);
            var s3 = new S3ObjectStore(options);
            await s3.EnsureBucketAsync(ct);
            return (s3, s3);
        }
        if (target.Contains("://", StringComparison.Ordinal)) throw new ArgumentException($"--out '{target}': use a directory or s3://bucket/prefix");
        return (new LocalDirectoryStore(target), null);
    }

    private static string Bar(int done, int total)
    {
        const int width = 30;
        var filled = total == 0 ? width : done * width / total;
        return new string('#', filled) + new string('.', width - filled);
    }
}
