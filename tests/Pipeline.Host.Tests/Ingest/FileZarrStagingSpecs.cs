using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;
using Pipeline.Host.Demo;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;
using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>
/// <c>Outputs:FileZarr</c> <c>staging</c> (issue 9): a GRIB2 file writes only what the run Zarr is assembled from (its
/// data chunks and one consolidated metadata document) plus its references and <c>.idx</c>, and finalization writes
/// the same run Zarr, byte for byte, as when every file wrote its full Zarr. Real files (the demo's generator), real
/// local stores, the real <see cref="FileProcessor"/> and <see cref="RunFinalizer"/>.
/// </summary>
public sealed class FileZarrStagingSpecs : IAsyncLifetime
{
    private static readonly DatasetId Dataset = new("test.staging");
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-staging-").FullName;
    private DemoRun _run = null!;

    private ModelRunId RunId => new(Dataset, new DateTimeOffset(_run.RunTime));

    public Task InitializeAsync()
    {
        _run = DemoModelRun.Generate(Path.Combine(_root, "src"), new DemoModelRunOptions { Resolution = 2.0, LastStep = 12, StepInterval = 6 });
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }

    private OutputOptions Outputs(string mode, string format = "zarr2") => new() { Store = Path.Combine(_root, mode + "-" + format), FileZarr = mode, Format = format };

    private FileWork Work(DemoFile f)
    {
        var location = new Uri("http://127.0.0.1/" + f.RelPath);
        var a = new Announcement("spec", "v03", f.RelPath, location, f.RelPath, null, f.Size, null, DateTimeOffset.UtcNow, "");
        return new FileWork(RunId, new FileId(f.RelPath, f.Sha512), a, null, null, f.RelPath, 0, 0, new Pipeline.Actors.Catalog.FetchOptions());
    }

    /// <summary>Every file of the run processed, then the run finalized; returns the store and what finalization said.</summary>
    private async Task<(IObjectStore Store, FinalizedRun Run, List<ProcessedFile> Files)> IngestAsync(OutputOptions outputs, Func<IObjectStore, Task>? between = null)
    {
        using var stores = new OutputStores(outputs.Store);
        var processor = new FileProcessor(stores);
        var local = new LocalFiles();
        var processed = new List<ProcessedFile>();
        foreach (var f in _run.Files)
        {
            processed.Add(await processor.ProcessAsync(Work(f), f.FullPath, outputs));
            local.Remember(RunId, f.RelPath, f.FullPath);
        }
        var store = stores.Get(outputs.Store);
        if (between is not null) await between(store);
        await using var fetcher = new Fetcher(new FetchSettings { CacheDirectory = Path.Combine(_root, "cache-" + Guid.NewGuid().ToString("N")), Defaults = new Pipeline.Streams.Fetch.FetchOptions { AllowedHosts = ["127.0.0.1"] } });
        using var http = new HttpClient();
        var finalizer = new RunFinalizer(stores, fetcher, local, new Wis2Notifier(null, new InMemoryDeadLetterStore()), http);
        var indexed = _run.Files.Select(f => new FinalizedFile(f.RelPath, f.Sha512, f.RelPath, null, null, new Uri("http://127.0.0.1/" + f.RelPath))).ToList();
        var finalized = await finalizer.FinalizeAsync(new RunFinalization(RunId, 1, "complete", DateTimeOffset.UtcNow, indexed, [], outputs));
        return (store, finalized, processed);
    }

    private async Task<List<string>> KeysAsync(IObjectStore store, string under = "") =>
        [.. (await store.ListAllAsync(StoreKey.Join(OutputLayout.RunPrefix(RunId), under))).Select(o => o.Key[(OutputLayout.RunPrefix(RunId).Length + 1)..])];

    [Theory]
    [InlineData("zarr2", ".zmetadata")]
    [InlineData("zarr3", "zarr.json")]
    public async Task Should_write_only_the_data_chunks_one_consolidated_document_the_references_and_the_idx_when_the_file_zarr_is_staging(string format, string document)
    {
        var file = _run.Files[0];
        var name = OutputLayout.FileName(file.RelPath);
        var staging = Outputs(FileZarrModes.Staging, format);
        var full = Outputs(FileZarrModes.Full, format);
        using var stores = new OutputStores(staging.Store);
        var processed = await new FileProcessor(stores).ProcessAsync(Work(file), file.FullPath, staging);
        using var fullStores = new OutputStores(full.Store);
        await new FileProcessor(fullStores).ProcessAsync(Work(file), file.FullPath, full);
        var store = stores.Get(staging.Store);
        var fullStore = fullStores.Get(full.Store);

        var keys = await KeysAsync(store);
        var chunks = keys.Where(k => k.StartsWith($"staging/{name}/", StringComparison.Ordinal) && k != $"staging/{name}/{document}").ToList();
        Assert.Equal(file.FieldCount, chunks.Count); // one chunk per field at this resolution
        Assert.Equal(new[] { $"idx/{name}.idx", $"refs/{name}.json", $"staging/{name}/{document}" }.Concat(chunks).Order(StringComparer.Ordinal),
            keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(chunks, k => k.EndsWith(".zarray", StringComparison.Ordinal) || k.EndsWith(".zattrs", StringComparison.Ordinal)
                                           || k.EndsWith("zarr.json", StringComparison.Ordinal) || k.Contains("itude/", StringComparison.Ordinal));
        Assert.True(await KeysAsync(fullStore, $"files/{name}.zarr") is { Count: > 60 }, "the full per-file Zarr has its metadata and coordinates");

        // The one document and every chunk are the bytes the full per-file Zarr holds under the same keys.
        var prefix = OutputLayout.RunPrefix(RunId);
        foreach (var key in chunks.Append($"staging/{name}/{document}"))
        {
            var fullKey = $"files/{name}.zarr/" + key[$"staging/{name}/".Length..];
            var (a, b) = (await store.GetAsync($"{prefix}/{key}"), await fullStore.GetAsync($"{prefix}/{fullKey}"));
            Assert.True(a.AsSpan().SequenceEqual(b), $"{key} differs from {fullKey}");
        }

        // What the notification links: the references (the staging area is not a product).
        var refs = await store.GetAsync(OutputLayout.FileReferences(RunId, name));
        Assert.Equal(OutputLayout.FileReferences(RunId, name), processed.ProductKey);
        Assert.Equal("application/json", processed.ProductMediaType);
        Assert.Equal(refs.LongLength, processed.ProductBytes);
        Assert.Equal(SHA512.HashData(refs), processed.ProductSha512);
    }

    [Theory]
    [InlineData("zarr2")]
    [InlineData("zarr3")]
    public async Task Should_finalize_the_same_run_Zarr_byte_for_byte_when_the_files_wrote_staging_areas_instead_of_their_own_Zarrs(string format)
    {
        var (fullStore, fullRun, _) = await IngestAsync(Outputs(FileZarrModes.Full, format));
        var (stagingStore, stagingRun, _) = await IngestAsync(Outputs(FileZarrModes.Staging, format));

        Assert.Equal(fullRun.Fields, stagingRun.Fields);
        Assert.Equal(stagingRun.Fields, stagingRun.FieldsCopied); // every field copied from the staging areas, none decoded
        Assert.Equal(fullRun.FieldsCopied, stagingRun.FieldsCopied);
        await AssertSameRunZarrAsync(fullStore, stagingStore);
        Assert.Empty(await KeysAsync(stagingStore, "files"));

        var manifest = JsonNode.Parse(await stagingStore.GetAsync(OutputLayout.RunManifest(RunId)))!;
        Assert.Equal("staging", (string?)manifest["fileZarr"]);
        var first = manifest["files"]![0]!;
        Assert.Null(first["zarr"]);
        Assert.Equal(OutputLayout.FileStaging(RunId, OutputLayout.FileName(_run.Files[0].RelPath)), (string?)first["staging"]);
        Assert.NotNull(first["references"]);
        var fullManifest = JsonNode.Parse(await fullStore.GetAsync(OutputLayout.RunManifest(RunId)))!;
        Assert.Equal("full", (string?)fullManifest["fileZarr"]);
        Assert.Equal(OutputLayout.FileZarr(RunId, OutputLayout.FileName(_run.Files[0].RelPath)), (string?)fullManifest["files"]![0]!["zarr"]);
    }

    [Fact]
    public async Task Should_decode_a_field_again_and_write_the_same_run_Zarr_when_its_staging_chunk_is_missing()
    {
        var (fullStore, _, _) = await IngestAsync(Outputs(FileZarrModes.Full));
        var victim = OutputLayout.FileStaging(RunId, OutputLayout.FileName(_run.Files[1].RelPath));
        var (stagingStore, stagingRun, _) = await IngestAsync(Outputs(FileZarrModes.Staging), async store =>
        {
            var chunk = (await store.ListAllAsync(victim + "/")).First(o => !o.Key.EndsWith("/.zmetadata", StringComparison.Ordinal));
            await store.DeleteAsync(chunk.Key);
        });

        Assert.Equal(stagingRun.Fields - 1, stagingRun.FieldsCopied);
        await AssertSameRunZarrAsync(fullStore, stagingStore);
    }

    [Fact]
    public async Task Should_still_copy_the_chunks_when_the_files_were_processed_in_the_other_mode()
    {
        // Files written in full mode, the dataset switched to staging before the run completed (and back).
        var outputs = Outputs(FileZarrModes.Full);
        var (store, run, _) = await IngestAsync(outputs with { FileZarr = FileZarrModes.Full });
        var again = await FinalizeAgainAsync(outputs with { FileZarr = FileZarrModes.Staging });

        Assert.Equal(run.Fields, again.FieldsCopied);
    }

    [Fact]
    public async Task Should_delete_the_staging_areas_once_the_run_is_out_and_decode_at_the_next_finalization_when_staging_is_not_kept()
    {
        var (fullStore, _, _) = await IngestAsync(Outputs(FileZarrModes.Full));
        var outputs = Outputs(FileZarrModes.Staging) with { KeepStaging = false };
        var (store, run, _) = await IngestAsync(outputs);

        // Copied from the staging areas, which then went; the run Zarr, references and indexes stay.
        Assert.Equal(run.Fields, run.FieldsCopied);
        Assert.Empty(await KeysAsync(store, "staging"));
        await AssertSameRunZarrAsync(fullStore, store);
        Assert.Equal(_run.Files.Count, (await KeysAsync(store, "refs")).Count(k => k != "refs/run.json" && !k.StartsWith("refs/run.", StringComparison.Ordinal)));
        Assert.Equal(_run.Files.Count, (await KeysAsync(store, "idx")).Count);
        var manifest = JsonNode.Parse(await store.GetAsync(OutputLayout.RunManifest(RunId)))!;
        Assert.All(manifest["files"]!.AsArray(), f => Assert.Null(f!["staging"]));

        // A refresh finalizes again: nothing left to copy, every field decoded, the same run Zarr.
        var again = await FinalizeAgainAsync(outputs);
        Assert.Equal(run.Fields, again.Fields);
        Assert.Equal(0, again.FieldsCopied);
        await AssertSameRunZarrAsync(fullStore, store);
    }

    [Fact]
    public async Task Should_keep_the_staging_areas_after_finalizing_by_default()
    {
        var (store, _, _) = await IngestAsync(Outputs(FileZarrModes.Staging));

        Assert.True(new OutputOptions().KeepStaging);
        Assert.Equal(_run.Files.Count, (await KeysAsync(store, "staging")).Count(k => k.EndsWith("/.zmetadata", StringComparison.Ordinal)));
    }

    /// <summary>Finalizes the run once more (generation 2, a refresh) from the files as they are in the store.</summary>
    private async Task<FinalizedRun> FinalizeAgainAsync(OutputOptions outputs)
    {
        using var stores = new OutputStores(outputs.Store);
        var local = new LocalFiles();
        foreach (var f in _run.Files) local.Remember(RunId, f.RelPath, f.FullPath);
        await using var fetcher = new Fetcher(new FetchSettings { CacheDirectory = Path.Combine(_root, "cache-" + Guid.NewGuid().ToString("N")), Defaults = new Pipeline.Streams.Fetch.FetchOptions { AllowedHosts = ["127.0.0.1"] } });
        using var http = new HttpClient();
        var indexed = _run.Files.Select(f => new FinalizedFile(f.RelPath, f.Sha512, f.RelPath, null, null, new Uri("http://127.0.0.1/" + f.RelPath))).ToList();
        return await new RunFinalizer(stores, fetcher, local, new Wis2Notifier(null, new InMemoryDeadLetterStore()), http)
            .FinalizeAsync(new RunFinalization(RunId, 2, "refresh", DateTimeOffset.UtcNow, indexed, [], outputs));
    }

    private async Task AssertSameRunZarrAsync(IObjectStore want, IObjectStore got)
    {
        var zarr = OutputLayout.RunZarr(RunId);
        var wanted = await want.ListAllAsync(zarr + "/");
        var found = await got.ListAllAsync(zarr + "/");
        Assert.NotEmpty(wanted);
        Assert.Equal(wanted.Select(o => o.Key).Order(StringComparer.Ordinal), found.Select(o => o.Key).Order(StringComparer.Ordinal));
        foreach (var o in wanted)
        {
            var (a, b) = (await want.GetAsync(o.Key), await got.GetAsync(o.Key));
            Assert.True(a.AsSpan().SequenceEqual(b), $"{o.Key} differs");
        }
    }
}
