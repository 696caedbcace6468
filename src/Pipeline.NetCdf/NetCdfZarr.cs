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
        var (objects, bytes) = await WriteAsync(refs, url => url.StartsWith("file://", StringComparison.Ordinal) ? url["file://".Length..] : url, store, cancellationToken)
            .ConfigureAwait(false);
        return new NetCdfConversion(paths.Count, refs.Keys.Count(k => k.EndsWith("/.zarray", StringComparison.Ordinal)), objects, bytes, dim, problems);
    }

    /// <summary>
    /// A reference set made real in <paramref name="store"/>: every inline object and every referenced byte range
    /// (read from the local file <paramref name="localPathOf"/> gives for its URL) put under its key, as stored
    /// (compressed chunks stay compressed), then consolidated metadata. Returns the objects and bytes written.
    /// </summary>
    public static async Task<(long Objects, long Bytes)> WriteAsync(ReferenceSet refs, Func<string, string?> localPathOf, IObjectStore store,
        CancellationToken cancellationToken = default, int parallelism = 8)
    {
        var files = new Dictionary<string, Microsoft.Win32.SafeHandles.SafeFileHandle>(StringComparer.Ordinal);
        long objects = 0, bytes = 0;
        try
        {
            var work = new List<(string Key, KerchunkRef Ref, Microsoft.Win32.SafeHandles.SafeFileHandle? File)>();
            foreach (var key in refs.Keys)
            {
                var r = refs[key];
                if (r.Inline is not null)
                {
                    work.Add((key, r, null));
                    continue;
                }
                var url = refs.ResolveUrl(r.Url!);
                var path = localPathOf(url) ?? throw new InvalidDataException($"'{key}' refers to {url}, which is not one of the files being converted");
                if (!files.TryGetValue(path, out var handle)) files[path] = handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                work.Add((key, r, handle));
            }
            await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
                async (w, ct) =>
                {
                    byte[] data;
                    if (w.File is null) data = w.Ref.Inline!;
                    else
                    {
                        var size = RandomAccess.GetLength(w.File);
                        var offset = w.Ref.Offset ?? 0;
                        var length = w.Ref.Length ?? size - offset;
                        if (offset < 0 || offset + length > size)
                            throw new InvalidDataException($"'{w.Key}': bytes {offset}..{offset + length} lie outside the file ({size} bytes; truncated?)");
                        data = new byte[length];
                        var done = 0;
                        while (done < data.Length)
                        {
                            var n = await RandomAccess.ReadAsync(w.File, data.AsMemory(done), offset + done, ct).ConfigureAwait(false);
                            if (n == 0) throw new InvalidDataException($"'{w.Key}': the file ended at byte {offset + done}");
                            done += n;
                        }
                    }
                    await store.PutAsync(w.Key, data, ct).ConfigureAwait(false);
                    Interlocked.Increment(ref objects);
                    Interlocked.Add(ref bytes, data.Length);
                }).ConfigureAwait(false);
        }
        finally
        {
            foreach (var h in files.Values) h.Dispose();
        }
        await new ZarrWriter(store).ConsolidateAsync("", cancellationToken).ConfigureAwait(false);
        return (objects, bytes);
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
