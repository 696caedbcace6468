using Pipeline.NetCdf.References;
using Pipeline.Zarr;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Storage;

namespace Pipeline.NetCdf;

/// <summary>What <see cref="NetCdfZarr.ConvertAsync"/> did.</summary>
public sealed record NetCdfConversion(int Files, int Arrays, long Objects, long Bytes, string? ConcatDim, IReadOnlyList<VariableProblem> Problems);

/// <summary>
/// NetCDF files into a Zarr v2 store: the files' references (combined along the concat dimension when there are
/// several) made real: every metadata document and chunk is copied into the store as it is stored in the file
/// (zlib/shuffle chunks stay compressed; converted variables are already Zarr chunks), then consolidated.
/// </summary>
public static class NetCdfZarr
{
    /// <param name="concatDim">The dimension to combine several files along; null: their common unlimited dimension.</param>
    public static async Task<NetCdfConversion> ConvertAsync(IReadOnlyList<string> paths, IObjectStore store, string? concatDim = null, CancellationToken cancellationToken = default)
    {
        var (refs, problems, dim) = BuildRun(paths, concatDim);
        var arrays = refs.Keys.Count(k => k.EndsWith("/.zarray", StringComparison.Ordinal));
        var files = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        long objects = 0, bytes = 0;
        try
        {
            foreach (var key in refs.Keys)
            {
                var r = refs[key];
                byte[] data;
                if (r.Inline is { } inline) data = inline;
                else
                {
                    var url = refs.ResolveUrl(r.Url!);
                    var path = url.StartsWith("file://", StringComparison.Ordinal) ? url["file://".Length..] : url;
                    if (!files.TryGetValue(path, out var fs)) files[path] = fs = File.OpenRead(path);
                    var length = r.Length ?? fs.Length - (r.Offset ?? 0);
                    data = new byte[length];
                    fs.Position = r.Offset ?? 0;
                    fs.ReadExactly(data);
                }
                await store.PutAsync(key, data, cancellationToken).ConfigureAwait(false);
                objects++;
                bytes += data.Length;
            }
        }
        finally
        {
            foreach (var fs in files.Values) fs.Dispose();
        }
        await new ZarrWriter(store).ConsolidateAsync("", cancellationToken).ConfigureAwait(false);
        return new NetCdfConversion(paths.Count, arrays, objects, bytes, dim, problems);
    }

    /// <summary>
    /// References for the files: one file's own set, or several combined along <paramref name="concatDim"/> (default:
    /// the unlimited dimension they share). Per-variable problems are returned, whole-file failures thrown.
    /// </summary>
    public static (ReferenceSet References, List<VariableProblem> Problems, string? ConcatDim) BuildRun(IReadOnlyList<string> paths, string? concatDim,
        ReferenceOptions? options = null, Func<string, string>? urlOf = null)
    {
        if (paths.Count == 0) throw new ArgumentException("no files", nameof(paths));
        urlOf ??= Path.GetFullPath;
        var problems = new List<VariableProblem>();
        var results = new List<(string Path, ReferenceSet Set, string? Unlimited)>();
        foreach (var p in paths)
        {
            using var file = NetCdfFile.Open(p);
            var result = NetCdfReferences.Build(file, urlOf(p), options);
            problems.AddRange(result.Problems);
            results.Add((p, result.References, file.Dimensions.FirstOrDefault(d => d.IsUnlimited)?.Name));
        }
        if (results.Count == 1 && concatDim is null) return (results[0].Set, problems, null);
        if (concatDim is null)
        {
            var unlimited = results.Select(r => r.Unlimited).Distinct().ToList();
            concatDim = unlimited.Count == 1 && unlimited[0] is not null ? unlimited[0]!
                : throw new ArgumentException("several files need a dimension to combine along (--combine DIM): they share no single unlimited dimension");
        }
        var run = new RunReferences(concatDim);
        foreach (var r in results) run.Add(urlOf(r.Path), r.Set);
        return (run.Build(), problems, concatDim);
    }
}
