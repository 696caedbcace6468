using System.CommandLine;
using System.Globalization;
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
        var files = new Argument<FileInfo[]>("FILE") { Description = "GRIB2 files (one model run, or any set).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Target store: a directory or s3://bucket/prefix.", Required = true };
        var format = new Option<string>("--format") { Description = "Zarr format: v2 (default) or v3.", DefaultValueFactory = _ => "v2" };
        format.AcceptOnlyFromAmong("v2", "v3");
        var compressor = new Option<string>("--compressor") { Description = "zstd (default), zlib, gzip or none; optional ':level'.", DefaultValueFactory = _ => "zstd" };
        var refs = new Option<bool>("--refs") { Description = "Also write kerchunk references (refs/FILE.scan.json per message, refs/GROUP.json combined) and refs/FILE.idx." };
        var cmd = new Command("convert", "Convert GRIB2 files to one Zarr store: a group per cfgrib hypercube, consolidated metadata.")
        {
            files, output, format, compressor, refs,
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
                var codecs = CodecPipeline.Parse(codecName);
                var (store, dispose) = await OpenStoreAsync(r.GetValue(output)!, ct);
                try
                {
                    var paths = r.GetValue(files)!.Select(f => f.FullName).ToList();
                    var interactive = !Console.IsErrorRedirected;
                    var progress = new Progress<ConversionProgress>(p =>
                    {
                        if (interactive) err.Write($"\r[{Bar(p.Done, p.Total)}] {p.Done}/{p.Total} fields ({p.Group})   ");
                    });
                    var summary = await GribToZarr.ConvertAsync(paths, store, new ConversionOptions
                    {
                        Format = zarrFormat, Codecs = codecs, References = r.GetValue(refs),
                    }, progress, ct);
                    if (interactive) err.WriteLine();
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
