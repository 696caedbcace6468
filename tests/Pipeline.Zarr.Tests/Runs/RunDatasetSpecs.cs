using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Runs;
using Pipeline.Zarr.Storage;
using Pipeline.Zarr.Tests.Support;
using Xunit;

namespace Pipeline.Zarr.Tests.Runs;

public sealed class RunDatasetSpecs : IDisposable
{
    private readonly TempDirectory _dir = new("runs");

    public void Dispose() => _dir.Dispose();

    private static IEnumerable<(string Var, double Step)> Files() =>
        SampleRun.Steps.SelectMany(s => new[] { ("t2m", s), ("tp", s) });

    /// <summary>Writes the files in the given order, chunks in parallel, one owner folding events and committing.</summary>
    internal static async Task<IObjectStore> WriteRunAsync(string root, IEnumerable<(string Var, double Step)> files, int parallelism = 4,
        Pipeline.Zarr.Metadata.ZarrFormat format = Pipeline.Zarr.Metadata.ZarrFormat.V2)
    {
        var store = new LocalDirectoryStore(root);
        var run = new RunDataset(new ZarrWriter(store, format), SampleRun.Layout());
        var events = new ConcurrentQueue<FieldWritten>();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (f, ct) =>
            events.Enqueue(await run.WriteFieldAsync(f.Var, [SampleRun.RefTime, f.Step], SampleRun.Values(f.Var, f.Step), ct)));
        var state = RunState.Empty;
        foreach (var e in events) state = state.Apply(run.Layout, e);
        await run.CommitMetadataAsync(state);
        return store;
    }

    [Fact]
    public async Task Should_give_the_same_store_when_files_arrive_shuffled_and_twice()
    {
        var ordered = await WriteRunAsync(_dir.Sub("ordered"), Files(), parallelism: 1);
        var rng = new Random(42);
        var shuffled = Files().Concat(Files()).OrderBy(_ => rng.Next()).ToList();
        var messy = await WriteRunAsync(_dir.Sub("messy"), shuffled, parallelism: 4);
        var a = await ordered.ListAllAsync("");
        var b = await messy.ListAllAsync("");
        Assert.Equal(a.Select(o => o.Key), b.Select(o => o.Key));
        Assert.Contains(a, o => o.Key == "t2m/0.5.0.0");
        foreach (var o in a) Assert.Equal(await ordered.GetAsync(o.Key), await messy.GetAsync(o.Key));
    }

    [Fact]
    public async Task Should_grow_shapes_and_coordinates_idempotently_when_metadata_is_committed_as_fields_arrive()
    {
        var store = new LocalDirectoryStore(_dir.Sub("grow"));
        var run = new RunDataset(new ZarrWriter(store), SampleRun.Layout());
        var state = RunState.Empty;
        var e1 = await run.WriteFieldAsync("t2m", [SampleRun.RefTime, 6], SampleRun.Values("t2m", 6));
        state = state.Apply(run.Layout, e1);
        await run.CommitMetadataAsync(state);
        Assert.Equal(new long[] { 1, 3, 5, 7 }, Shape(await store.GetAsync("t2m/.zarray")));
        var again = state.Apply(run.Layout, e1);
        Assert.Same(state, again);
        var e0 = await run.WriteFieldAsync("tp", [SampleRun.RefTime, 0], SampleRun.Values("tp", 0));
        state = state.Apply(run.Layout, e0);
        Assert.Equal(3, state.Extent("step"));
        var before = await store.GetAsync("t2m/.zarray");
        await run.CommitMetadataAsync(state);
        Assert.Equal(before, await store.GetAsync("t2m/.zarray"));
        Assert.Equal(new long[] { 1, 3, 5, 7 }, Shape(await store.GetAsync("tp/.zarray")));
        var e2 = await run.WriteFieldAsync("t2m", [SampleRun.RefTime, 15], SampleRun.Values("t2m", 15));
        state = state.Apply(run.Layout, e2);
        await run.CommitMetadataAsync(state);
        Assert.Equal(new long[] { 1, 6, 5, 7 }, Shape(await store.GetAsync("t2m/.zarray")));
        Assert.Equal(new long[] { 6 }, Shape(await store.GetAsync("step/.zarray")));
        Assert.Equal(new long[] { 1, 6 }, Shape(await store.GetAsync("valid_time/.zarray")));
    }

    [Fact]
    public async Task Should_reject_with_the_axis_named_when_a_value_is_off_the_axis()
    {
        var run = new RunDataset(new ZarrWriter(new LocalDirectoryStore(_dir.Sub("off"))), SampleRun.Layout());
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => run.WriteFieldAsync("t2m", [SampleRun.RefTime, 4], SampleRun.Values("t2m", 0)));
        Assert.Contains("step", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => run.WriteFieldAsync("nope", [SampleRun.RefTime, 3], SampleRun.Values("t2m", 0)));
        await Assert.ThrowsAsync<ArgumentException>(() => run.WriteFieldAsync("t2m", [3], SampleRun.Values("t2m", 0)));
        await Assert.ThrowsAsync<ArgumentException>(() => run.WriteFieldAsync("t2m", [SampleRun.RefTime, 3], new float[3]));
    }

    private static long[] Shape(byte[] zarray) => JsonNode.Parse(zarray)!["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
}
