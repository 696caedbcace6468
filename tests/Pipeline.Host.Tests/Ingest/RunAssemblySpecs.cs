using Pipeline.Actors.Catalog;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Runs;
using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>
/// Finalization builds the run Zarr from the chunks the per-file stage already wrote (issue 9): the result must be
/// byte for byte what converting the same files from scratch writes (what <c>pipeline zarr convert</c> does), on a
/// local directory and on S3 (s3rver), with the grid tiled into several chunks, and when some per-file chunks are
/// missing or the per-file Zarrs are of another format (those fields are decoded instead).
/// </summary>
public sealed class RunAssemblySpecs : IAsyncLifetime
{
    private static readonly int[] Steps = [0, 6, 12];
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-assembly-").FullName;
    private List<string> _files = [];

    public async Task InitializeAsync()
    {
        if (TestServices.SkipReason([Service.Python]) is not null) return;
        await RunFixtures.RunAsync(Path.Combine(_root, "src"), "20261124", 0, Steps);
        _files = [.. Directory.GetFiles(Path.Combine(_root, "src"), "*.grib2").Order(StringComparer.Ordinal)];
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

    private static ConversionOptions Options(string format = "zarr2", int maxChunkBytes = Pipeline.Zarr.ChunkPlanner.DefaultMaxChunkBytes) =>
        FileProcessor.Options(new OutputOptions { Format = format }) with { MaxChunkBytes = maxChunkBytes };

    /// <summary>Per-file Zarrs under files/, then the run under run.zarr from them, and a fresh conversion under fresh.zarr.</summary>
    private async Task<PerFileChunks> AssembleAsync(IObjectStore store, ConversionOptions perFile, ConversionOptions run, Func<Task>? between = null)
    {
        var prefixes = _files.ToDictionary(f => f, f => "files/" + Path.GetFileName(f) + ".zarr");
        foreach (var f in _files) await GribToZarr.ConvertAsync([f], new PrefixedStore(store, prefixes[f]), perFile);
        if (between is not null) await between();
        var source = new PerFileChunks(store, "run.zarr", prefixes);
        await GribToZarr.ConvertAsync(_files, new PrefixedStore(store, "run.zarr"), run with { ChunkSource = source });
        await GribToZarr.ConvertAsync(_files, new PrefixedStore(store, "fresh.zarr"), run);
        return source;
    }

    private static async Task AssertSameAsync(IObjectStore store)
    {
        var run = await new PrefixedStore(store, "run.zarr").ListAllAsync("");
        var fresh = await new PrefixedStore(store, "fresh.zarr").ListAllAsync("");
        Assert.Equal(fresh.Select(o => o.Key), run.Select(o => o.Key));
        foreach (var o in fresh)
        {
            var want = await store.GetAsync("fresh.zarr/" + o.Key);
            var got = await store.GetAsync("run.zarr/" + o.Key);
            Assert.True(want.SequenceEqual(got), $"{o.Key} differs");
        }
    }

    [ServiceFact(Service.Python)]
    public async Task Should_copy_every_field_and_write_what_a_fresh_conversion_writes_when_the_per_file_Zarrs_match()
    {
        var store = new LocalDirectoryStore(Path.Combine(_root, "store"));
        var source = await AssembleAsync(store, Options(), Options());
        Assert.Equal(Steps.Length * 5, source.Copied);
        Assert.Equal(0, source.Declined);
        await AssertSameAsync(store);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_copy_tiled_fields_chunk_by_chunk_when_the_grid_spans_several_chunks()
    {
        var store = new LocalDirectoryStore(Path.Combine(_root, "tiled"));
        var source = await AssembleAsync(store, Options(maxChunkBytes: 600), Options(maxChunkBytes: 600));
        Assert.Equal(Steps.Length * 5, source.Copied);
        Assert.Contains(await store.ListAllAsync("run.zarr/"), o => System.Text.RegularExpressions.Regex.IsMatch(o.Key, @"/\d+\.\d+\.[1-9]\d*$")
            && !o.Key.Contains("itude/", StringComparison.Ordinal)); // a field's tile beyond the first
        await AssertSameAsync(store);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_decode_the_fields_whose_chunks_are_missing_and_still_write_the_same_bytes()
    {
        var store = new LocalDirectoryStore(Path.Combine(_root, "holes"));
        var victim = "files/" + Path.GetFileName(_files[1]) + ".zarr/";
        var source = await AssembleAsync(store, Options(), Options(), async () =>
        {
            foreach (var o in (await store.ListAllAsync(victim)).Where(o => o.Key.EndsWith("/0.0", StringComparison.Ordinal)).Take(2))
                await store.DeleteAsync(o.Key);
        });
        Assert.Equal(2, source.Declined);
        Assert.Equal(Steps.Length * 5 - 2, source.Copied);
        await AssertSameAsync(store);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_decode_every_field_when_the_per_file_Zarrs_are_of_another_format_or_chunking()
    {
        var store = new LocalDirectoryStore(Path.Combine(_root, "other"));
        var source = await AssembleAsync(store, Options("zarr3"), Options());
        Assert.Equal(0, source.Copied);
        await AssertSameAsync(store);
        var chunked = new LocalDirectoryStore(Path.Combine(_root, "chunked"));
        source = await AssembleAsync(chunked, Options(maxChunkBytes: 600), Options());
        Assert.Equal(0, source.Copied);
        await AssertSameAsync(chunked);
    }

    [ServiceFact(Service.Python, Service.S3)]
    public async Task Should_assemble_the_run_by_store_side_copies_when_the_store_is_S3()
    {
        var options = new S3StoreOptions
        {
            Bucket = "assembly-" + Guid.NewGuid().ToString("N")[..12], Prefix = "ds/run", ServiceUrl = TestServices.S3Endpoint, ForcePathStyle = true,
            AccessKey = "S3RVER", SecretKey = "S3RVER",
        };
        using var store = new S3ObjectStore(options);
        await store.EnsureBucketAsync();
        var source = await AssembleAsync(store, Options("zarr3"), Options("zarr3"));
        Assert.Equal(Steps.Length * 5, source.Copied);
        await AssertSameAsync(store);
    }
}
