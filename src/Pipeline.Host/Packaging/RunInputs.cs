using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Packaging;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;

namespace Pipeline.Host.Packaging;

/// <summary>One original file of a finalized run, as its manifest lists it.</summary>
public sealed record RunInputFile(string DataId, string Checksum, Uri Location);

/// <summary>An input that cannot be had (yet): <see cref="Retryable"/> when waiting may help (404, a transient error).</summary>
public sealed class InputUnavailableException(string message, bool retryable) : Exception(message)
{
    public bool Retryable { get; } = retryable;
}

/// <summary>
/// The inputs of a package: the original GRIB2 files of a finalized run. The run's <c>manifest.json</c> (in the
/// dataset's store, written at finalization) lists them with their locations; each is downloaded once per node
/// through the node's fetcher (politeness, allowed hosts, s3://) into a local input directory keyed by location and
/// checksum, so many packages over one run read local copies. Exact values and the original message bytes come
/// from these files.
/// </summary>
public sealed class RunInputs(DatasetCatalog catalog, OutputStores stores, Fetcher fetcher, string directory)
{
    public string Directory { get; } = System.IO.Directory.CreateDirectory(directory).FullName;

    /// <summary>The files of a finalized run, or null when the run has no manifest (not finalized, or unknown).</summary>
    public async Task<IReadOnlyList<RunInputFile>?> ListAsync(ModelRunId run, CancellationToken cancellationToken)
    {
        if (!catalog.TryGet(run.Dataset, out var dataset)) return null;
        var store = stores.Get(dataset.Options.Outputs.Store);
        var bytes = await store.TryGetAsync(OutputLayout.RunManifest(run), cancellationToken).ConfigureAwait(false);
        if (bytes is null) return null;
        using var doc = JsonDocument.Parse(bytes);
        var files = new List<RunInputFile>();
        foreach (var f in doc.RootElement.GetProperty("files").EnumerateArray())
            files.Add(new RunInputFile(f.GetProperty("dataId").GetString()!, f.GetProperty("checksum").GetString() ?? "", new Uri(f.GetProperty("location").GetString()!)));
        return files.OrderBy(f => f.DataId, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Deletes the local copies (and their <c>.sha256</c>, and temporaries a crash left) that no job used for
    /// <paramref name="olderThan"/>: a copy is touched each time a job takes it, so only idle ones go.
    /// </summary>
    public CacheSweep Sweep(TimeSpan olderThan)
    {
        var cutoff = DateTime.UtcNow - olderThan;
        int deleted = 0;
        long bytes = 0;
        foreach (var f in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (f.EndsWith(".sha256", StringComparison.Ordinal)) continue; // goes with its copy
            try
            {
                var info = new FileInfo(f);
                if (!info.Exists || info.LastWriteTimeUtc >= cutoff) continue;
                var length = info.Length;
                if (f.EndsWith(".grib2", StringComparison.Ordinal)) File.Delete(f + ".sha256"); // first: a copy without it is fetched again
                info.Delete();
                deleted++;
                bytes += length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or in use on a system that refuses: the next sweep tries again.
            }
        }
        return new CacheSweep(deleted, bytes, 0);
    }

    /// <summary>A local copy of one input (downloaded once); throws <see cref="InputUnavailableException"/> when it cannot be had now.</summary>
    public async Task<PackageInput> FetchAsync(ModelRunId run, RunInputFile file, CancellationToken cancellationToken)
    {
        var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(file.Location.AbsoluteUri + "\n" + file.Checksum)))[..32];
        var path = Path.Combine(Directory, name + ".grib2");
        var shaPath = path + ".sha256";
        if (File.Exists(path) && File.Exists(shaPath))
        {
            // In use again: the sweep measures a copy's age from its last use.
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            return new PackageInput(path, file.Location, await File.ReadAllTextAsync(shaPath, cancellationToken).ConfigureAwait(false), new FileInfo(path).Length);
        }

        var announcement = new Announcement("packaging", AnnouncementFormats.Manual, file.DataId, file.Location, file.Location.AbsolutePath.TrimStart('/'), null, null,
            null, DateTimeOffset.UtcNow, "");
        var result = await fetcher.FetchAsync(new FetchRequest(announcement, run.Dataset.Value), cancellationToken).ConfigureAwait(false);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        string sha;
        switch (result)
        {
            case FetchResult.Cached c:
                File.Copy(c.Path, temp, overwrite: true);
                sha = c.Sha256Hex;
                break;
            case FetchResult.InMemory m:
                await File.WriteAllBytesAsync(temp, m.Data.ToArray(), cancellationToken).ConfigureAwait(false);
                sha = m.Sha256Hex;
                break;
            case FetchResult.Failed x:
                cancellationToken.ThrowIfCancellationRequested();
                throw new InputUnavailableException($"{file.Location}: {x.Error}: {x.Reason}",
                    x.Error is FetchErrorClass.NotYetPublished or FetchErrorClass.Transient);
            default:
                throw new InputUnavailableException($"{file.Location}: unexpected fetch result {result.GetType().Name}", false);
        }
        await File.WriteAllTextAsync(shaPath, sha, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
        return new PackageInput(path, file.Location, sha, new FileInfo(path).Length);
    }
}
