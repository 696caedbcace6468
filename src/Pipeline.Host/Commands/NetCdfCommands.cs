using System.CommandLine;
using System.Globalization;
using Pipeline.NetCdf;
using Pipeline.NetCdf.References;
using Pipeline.Zarr.Storage;

namespace Pipeline.Host.Commands;

/// <summary>
/// <c>pipeline netcdf refs FILE... --out REFS.json [--combine DIM] [--url-base URL] [--store STORE] [--inline-threshold N]</c>
/// and <c>pipeline netcdf inspect FILE</c>: kerchunk references for NetCDF-3 and NetCDF-4 files (see
/// src/Pipeline.NetCdf/README.md). Per-variable problems are warnings on stderr; a file that cannot be opened is an
/// error (exit 1) while the other files are still referenced.
/// </summary>
public static class NetCdfCommands
{
    public static Command Build()
    {
        var netcdf = new Command("netcdf", "NetCDF-3 and NetCDF-4/HDF5 files: kerchunk references (single and per run), header summary.");
        netcdf.Subcommands.Add(Refs());
        netcdf.Subcommands.Add(Inspect());
        return netcdf;
    }

    private static Command Refs()
    {
        var files = new Argument<FileInfo[]>("FILE") { Description = "NetCDF files (one model run when combining).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--out") { Description = "The reference JSON to write (kerchunk version 1).", Required = true };
        var combine = new Option<string?>("--combine")
        {
            Description = "Combine the files along this dimension (time, ocean_time, ...). Default with several files: their common unlimited dimension.",
        };
        var urlBase = new Option<string?>("--url-base")
        {
            Description = "Reference chunks at URL + file name (e.g. s3://bucket/run/) instead of the local absolute path.",
        };
        var store = new Option<string?>("--store")
        {
            Description = "Where converted variables' Zarr chunks go (a directory or s3://bucket/prefix); default: inline in the JSON.",
        };
        var inline = new Option<int>("--inline-threshold") { Description = "Inline chunks of at most this many bytes (default 500).", DefaultValueFactory = _ => 500 };
        var cmd = new Command("refs", "Write kerchunk references (version 1) for NetCDF files; several files are combined along time.")
        {
            files, output, combine, urlBase, store, inline,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var err = r.InvocationConfiguration.Error;
            var outWriter = r.InvocationConfiguration.Output;
            IObjectStore? convertStore = null;
            try
            {
                var target = r.GetValue(store);
                if (target is not null)
                    convertStore = target.StartsWith("s3://", StringComparison.Ordinal) ? new S3ObjectStore(S3StoreOptions.FromUri(target)) : new LocalDirectoryStore(target);
                var baseUrl = r.GetValue(urlBase);
                string UrlOf(string path) => baseUrl is null ? Path.GetFullPath(path) : baseUrl.TrimEnd('/') + "/" + Path.GetFileName(path);
                var combineDim = r.GetValue(combine);
                var paths = r.GetValue(files)!.Select(f => f.FullName).ToList();
                var failed = 0;
                var results = new List<(string Path, Pipeline.Zarr.Kerchunk.ReferenceSet Set, string? Unlimited)>();
                foreach (var path in paths)
                {
                    try
                    {
                        using var file = NetCdfFile.Open(path);
                        var options = new ReferenceOptions { InlineThreshold = r.GetValue(inline), ConvertStore = convertStore };
                        var result = await NetCdfReferences.BuildAsync(file, UrlOf(path), options, ct);
                        foreach (var p in result.Problems) err.WriteLine("warning: " + p);
                        results.Add((path, result.References, file.Dimensions.FirstOrDefault(d => d.IsUnlimited)?.Name));
                        outWriter.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{path}: {NetCdfFile.FormatName(file.Format)}; {result.With(VariableOutcome.Referenced).Count()} referenced, {result.With(VariableOutcome.Inlined).Count()} inlined, {result.With(VariableOutcome.Converted).Count()} converted, {result.With(VariableOutcome.Failed).Count()} failed"));
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
                    {
                        err.WriteLine("error: " + e.Message);
                        failed++;
                    }
                }
                if (results.Count == 0)
                {
                    err.WriteLine("error: no file could be referenced; nothing written");
                    return 1;
                }
                Pipeline.Zarr.Kerchunk.ReferenceSet refs;
                if (results.Count == 1 && combineDim is null)
                {
                    refs = results[0].Set;
                }
                else
                {
                    if (combineDim is null)
                    {
                        var unlimited = results.Select(x => x.Unlimited).Distinct().ToList();
                        combineDim = unlimited.Count == 1 && unlimited[0] is not null ? unlimited[0]
                            : throw new ArgumentException("several files need --combine DIM: they share no single unlimited dimension");
                    }
                    var run = new RunReferences(combineDim!);
                    foreach (var x in results) run.Add(UrlOf(x.Path), x.Set);
                    refs = run.Build();
                }
                var outFile = r.GetValue(output)!;
                if (outFile.Directory is { } dir) dir.Create();
                await File.WriteAllBytesAsync(outFile.FullName, refs.ToJson(), ct);
                outWriter.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{results.Count} file(s){(combineDim is null ? "" : $" combined along '{combineDim}'")}, {refs.Count} references -> {outFile.FullName}"));
                return failed > 0 ? 1 : 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
            {
                err.WriteLine("error: " + e.Message);
                return 1;
            }
            finally
            {
                (convertStore as IDisposable)?.Dispose();
            }
        });
        return cmd;
    }

    private static Command Inspect()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A NetCDF-3 or NetCDF-4/HDF5 file." };
        var cmd = new Command("inspect", "Print an ncdump -h-like header summary, with each variable's chunks, filters and problems.") { file };
        cmd.SetAction(r =>
        {
            try
            {
                using var nc = NetCdfFile.Open(r.GetValue(file)!.FullName);
                r.InvocationConfiguration.Output.Write(nc.Describe());
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
            {
                r.InvocationConfiguration.Error.WriteLine("error: " + e.Message);
                return 1;
            }
        });
        return cmd;
    }
}
