using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Pipeline.Actors.Contracts;
using Pipeline.Zarr.Storage;

namespace Pipeline.Streams.Ingest;

/// <summary>
/// Where a run's products live inside a dataset's store. Every key is a pure function of the run id and the file's
/// name, so a file processed twice (a re-drive, a refresh) overwrites its own objects with the same bytes.
/// <code>
/// {dataset}/{reftime}/files/{name}.zarr/...    (name from the file's data id) one Zarr per file (cfgrib layout), written as the file arrives
/// {dataset}/{reftime}/staging/{name}/...      instead of files/, with Outputs:FileZarr staging (GRIB2): only the data chunks and
///                                              the consolidated metadata, what run.zarr is assembled from (kept after finalization)
/// {dataset}/{reftime}/refs/{name}.json         kerchunk references into the original file (its URL): scan_grib's list (GRIB2), one set (NetCDF)
/// {dataset}/{reftime}/idx/{name}.idx           wgrib2-style byte-range index of the original file (GRIB2 only)
/// {dataset}/{reftime}/run.zarr/...             the whole run (at finalization): GRIB2 one group per cfgrib hypercube; NetCDF the
///                                              files combined along time (a group per product when the pattern's var differs)
/// {dataset}/{reftime}/refs/run.{group}.json    combined references along step/level (GRIB2) or time (NetCDF: refs/run.json)
/// {dataset}/{reftime}/manifest.json            the run manifest: files, checksums, products (at finalization)
/// </code>
/// </summary>
public static class OutputLayout
{
    /// <summary>The run's folder: <c>{dataset}/{reftime}</c>, reftime as <c>yyyyMMddTHHmmZ</c> (a key-safe form of the run id).</summary>
    public static string RunPrefix(ModelRunId run) =>
        StoreKey.Join(run.Dataset.Value, run.ReferenceTime.UtcDateTime.ToString("yyyyMMdd'T'HHmm'Z'", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// A key-safe, stable name for a file: the last segment of its relPath with anything outside
    /// <c>[A-Za-z0-9._-]</c> replaced, plus a short hash of the whole relPath when it had to be changed or when it
    /// would be ambiguous (two runs' files share a name only across runs, never within one relPath).
    /// </summary>
    public static string FileName(string relPath)
    {
        var last = relPath.TrimEnd('/');
        var slash = last.LastIndexOf('/');
        if (slash >= 0) last = last[(slash + 1)..];
        var sb = new StringBuilder(last.Length);
        foreach (var c in last) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        var name = sb.ToString().TrimStart('.');
        if (name.Length == 0 || name != last || name.Length > 160)
        {
            var hash = Convert.ToHexStringLower(System.IO.Hashing.XxHash64.Hash(Encoding.UTF8.GetBytes(relPath)));
            name = (name.Length > 120 ? name[..120] : name) + "-" + hash;
        }
        return name;
    }

    public static string FileZarr(ModelRunId run, string name) => StoreKey.Join(RunPrefix(run), "files", name + ".zarr");

    /// <summary>A GRIB2 file's staging area (<c>Outputs:FileZarr</c> <c>staging</c>): its data chunks and consolidated metadata, not a browsable Zarr.</summary>
    public static string FileStaging(ModelRunId run, string name) => StoreKey.Join(RunPrefix(run), "staging", name);

    public static string FileReferences(ModelRunId run, string name) => StoreKey.Join(RunPrefix(run), "refs", name + ".json");

    public static string FileIdx(ModelRunId run, string name) => StoreKey.Join(RunPrefix(run), "idx", name + ".idx");

    public static string RunZarr(ModelRunId run) => StoreKey.Join(RunPrefix(run), "run.zarr");

    /// <summary>Combined references of a run group (GRIB2: per cfgrib hypercube); "" (a NetCDF run of one product): <c>refs/run.json</c>.</summary>
    public static string RunReferences(ModelRunId run, string group) =>
        StoreKey.Join(RunPrefix(run), "refs", group.Length == 0 ? "run.json" : "run." + group + ".json");

    /// <summary>
    /// The NetCDF run group's accumulated per-file references (<see cref="Pipeline.NetCdf.References.RunReferences"/>
    /// state), from which <see cref="RunReferences"/> is rebuilt as each file arrives, before the run completes.
    /// </summary>
    public static string RunReferencesState(ModelRunId run, string group) =>
        StoreKey.Join(RunPrefix(run), "refs", group.Length == 0 ? ".run.state.json" : ".run." + group + ".state.json");

    /// <summary>The NetCDF product a file belongs to: "" for one product, else the pattern's <c>var</c> (OFS <c>fields</c>, <c>stations</c>).</summary>
    public static string NetCdfProduct(string? variable) => string.IsNullOrEmpty(variable) ? "" : FileName(variable);

    public static string RunManifest(ModelRunId run) => StoreKey.Join(RunPrefix(run), "manifest.json");
}

/// <summary>
/// Opens the object stores that datasets name in <c>Outputs.Store</c>: a directory path or <c>file://</c> URI
/// (<see cref="LocalDirectoryStore"/>), or <c>s3://bucket/prefix</c> (<see cref="S3ObjectStore"/>, endpoint and
/// credentials from the AWS environment). One store per distinct address, shared, opened at first use.
/// An empty address means the node's default store. <paramref name="open"/> replaces how an address becomes a
/// store (benchmarks wrap the real store to count its requests).
/// </summary>
public sealed class OutputStores(string defaultStore, Func<string, string?>? environment = null, Func<string, IObjectStore>? open = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IObjectStore>> _stores = new(StringComparer.Ordinal);

    public string DefaultStore { get; } = defaultStore;

    public IObjectStore Get(string? address)
    {
        var key = string.IsNullOrWhiteSpace(address) ? DefaultStore : address.Trim();
        if (string.IsNullOrWhiteSpace(key))
            throw new InvalidOperationException("the dataset names no output store and the node has no default store (Pipeline:Ingest:DefaultStore)");
        return _stores.GetOrAdd(key, k => new Lazy<IObjectStore>(() => open is null ? Open(k, environment) : open(k))).Value;
    }

    public static IObjectStore Open(string address, Func<string, string?>? environment = null)
    {
        if (address.StartsWith("s3://", StringComparison.Ordinal))
        {
            var store = new S3ObjectStore(S3StoreOptions.FromUri(address, environment));
            return store;
        }
        var path = address.StartsWith("file://", StringComparison.Ordinal) ? new Uri(address).LocalPath : address;
        if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is not ("file") && !Path.IsPathRooted(address))
            throw new ArgumentException($"output store '{address}': only a directory, file:// or s3:// address is supported");
        return new LocalDirectoryStore(Path.GetFullPath(path));
    }

    /// <summary>
    /// The public address of an object: <paramref name="publicBaseUrl"/> + key when the dataset publishes its
    /// store over HTTP, else the store's own address (<c>file://...</c>, <c>s3://...</c>).
    /// </summary>
    public static Uri Href(IObjectStore store, string key, string? publicBaseUrl)
    {
        if (!string.IsNullOrWhiteSpace(publicBaseUrl)) return new Uri(publicBaseUrl.TrimEnd('/') + "/" + key);
        var location = store.Location.TrimEnd('/');
        return new Uri(location + "/" + key);
    }

    public void Dispose()
    {
        foreach (var s in _stores.Values)
            if (s.IsValueCreated && s.Value is IDisposable d)
                d.Dispose();
    }
}
