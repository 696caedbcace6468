using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.Catalog;
using Pipeline.Host.Ingest;
using Pipeline.Host.Packaging;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>
/// The download cache stays bounded on a long-running node: files of runs not finalized yet stay whatever their age,
/// the rest go once older than <c>Pipeline:Ingest:CacheRetention</c>. The real fetcher's cache and the node's
/// <see cref="LocalFiles"/>; the service's own timer does the sweeping in the last spec.
/// </summary>
public sealed class CacheHousekeepingSpecs : IAsyncDisposable
{
    private static readonly ModelRunId Run = new(new DatasetId("test.cache"), new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-housekeeping-").FullName;
    private readonly Fetcher _fetcher;
    private readonly LocalFiles _local = new();

    public CacheHousekeepingSpecs()
    {
        _fetcher = new Fetcher(new FetchSettings { CacheDirectory = Path.Combine(_root, "cache"), Defaults = new Pipeline.Streams.Fetch.FetchOptions { AllowedHosts = ["127.0.0.1"] } });
    }

    public async ValueTask DisposeAsync()
    {
        await _fetcher.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Downloaded(char c, TimeSpan age)
    {
        var hex = new string(c, 64);
        var temp = Path.Combine(_fetcher.Cache.TempDirectory, hex + ".tmp");
        File.WriteAllBytes(temp, new byte[100]);
        var path = _fetcher.Cache.Commit(temp, hex);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void Should_keep_the_files_of_runs_not_finalized_and_delete_them_after_finalization_when_they_are_old()
    {
        var held = Downloaded('a', TimeSpan.FromHours(3));
        var done = Downloaded('b', TimeSpan.FromHours(3));
        var recent = Downloaded('c', TimeSpan.FromMinutes(5));
        _local.Remember(Run, "a.grib2", held);
        var housekeeping = new CacheHousekeeping(_fetcher, _local, TimeSpan.FromMinutes(30), TimeSpan.FromDays(1), NullLogger<CacheHousekeeping>.Instance);

        Assert.Equal(new CacheSweep(1, 100, 1), housekeeping.SweepOnce());
        Assert.True(File.Exists(held));
        Assert.False(File.Exists(done));
        Assert.True(File.Exists(recent));

        _local.ForgetRun(Run); // the run was finalized: its files are no longer needed
        Assert.Equal(new CacheSweep(1, 100, 0), housekeeping.SweepOnce());
        Assert.False(File.Exists(held));
        Assert.True(File.Exists(recent));
        Assert.Equal(TimeSpan.FromMinutes(5), housekeeping.Interval); // half the retention, at most five minutes
        Assert.Equal(TimeSpan.FromSeconds(2), new CacheHousekeeping(_fetcher, _local, TimeSpan.FromSeconds(4), TimeSpan.FromDays(1), NullLogger<CacheHousekeeping>.Instance).Interval);
    }

    [Fact]
    public void Should_find_and_keep_a_run_files_after_a_restart_and_let_them_go_after_the_hold_limit()
    {
        var clock = new Demo.ManualClock(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
        var held = Path.Combine(_root, "cache", "held");
        var a = Downloaded('a', TimeSpan.FromHours(3));
        var b = Downloaded('b', TimeSpan.FromHours(3));
        var first = new LocalFiles(held, clock);
        first.Remember(Run, "a.grib2", a);
        clock.Advance(TimeSpan.FromHours(20));
        first.Remember(Run, "b.grib2", b);
        var other = new ModelRunId(Run.Dataset, Run.ReferenceTime.AddHours(6));
        first.Remember(other, "a.grib2", a);
        first.ForgetRun(other); // finalized here: gone from disk too
        // Torn and foreign files in the directory are skipped, not fatal.
        File.WriteAllText(Path.Combine(held, "torn.json"), "{\"Run\": ");
        File.WriteAllText(Path.Combine(held, "relative.json"), """{"Run":"r","DataId":"d","Path":"cache/x","At":"2026-11-25T00:00:00Z"}""");

        // The node restarts: the run's files are still found, and housekeeping keeps them although they are old.
        var again = new LocalFiles(held, clock);
        Assert.Equal(a, again.Find(Run, "a.grib2"));
        Assert.Equal(b, again.Find(Run, "b.grib2"));
        Assert.Null(again.Find(other, "a.grib2"));
        var housekeeping = new CacheHousekeeping(_fetcher, again, TimeSpan.FromMinutes(30), TimeSpan.FromDays(1), NullLogger<CacheHousekeeping>.Instance);
        Assert.Equal(new CacheSweep(0, 0, 2), housekeeping.SweepOnce());

        // A day after it was remembered (the run finalized on another node, say), a file is let go, on disk as well.
        clock.Advance(TimeSpan.FromHours(5));
        Assert.Equal(new CacheSweep(1, 100, 1), housekeeping.SweepOnce());
        Assert.False(File.Exists(a));
        Assert.Null(new LocalFiles(held, clock).Find(Run, "a.grib2"));
        Assert.Equal(b, new LocalFiles(held, clock).Find(Run, "b.grib2"));
    }

    [Fact]
    public void Should_delete_packaging_input_copies_no_job_used_within_the_retention()
    {
        using var stores = new OutputStores(Path.Combine(_root, "store"));
        var inputs = new RunInputs(DatasetCatalog.Create(new DatasetCatalogOptions()), stores, _fetcher, Path.Combine(_root, "inputs"));
        string Copy(string name, TimeSpan age)
        {
            var path = Path.Combine(inputs.Directory, name);
            File.WriteAllBytes(path, new byte[50]);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            if (name.EndsWith(".grib2", StringComparison.Ordinal)) File.WriteAllText(path + ".sha256", "ab");
            return path;
        }
        var idle = Copy("idle.grib2", TimeSpan.FromDays(2));
        var used = Copy("used.grib2", TimeSpan.FromHours(1));
        var crashed = Copy("x.grib2.0123.tmp", TimeSpan.FromDays(2));
        var housekeeping = new PackageInputHousekeeping(inputs, TimeSpan.FromDays(1), NullLogger<PackageInputHousekeeping>.Instance);

        Assert.Equal(new CacheSweep(2, 100, 0), housekeeping.SweepOnce());
        Assert.False(File.Exists(idle));
        Assert.False(File.Exists(idle + ".sha256"));
        Assert.False(File.Exists(crashed));
        Assert.True(File.Exists(used));
        Assert.True(File.Exists(used + ".sha256"));
    }

    [Fact]
    public async Task Should_sweep_on_its_own_timer_while_the_node_runs()
    {
        var old = Downloaded('d', TimeSpan.FromHours(1));
        var held = Downloaded('e', TimeSpan.FromHours(1));
        _local.Remember(Run, "e.grib2", held);
        using var housekeeping = new CacheHousekeeping(_fetcher, _local, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), NullLogger<CacheHousekeeping>.Instance);
        await housekeeping.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(old)), exists => !exists, TimeSpan.FromSeconds(60), "the old unheld file swept");
            // A file downloaded now is swept too once it is older than the retention and no run holds it.
            var later = Downloaded('f', TimeSpan.Zero);
            await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(later)), exists => !exists, TimeSpan.FromSeconds(60), "the new file swept after the retention");
            Assert.True(File.Exists(held));
        }
        finally
        {
            await housekeeping.StopAsync(CancellationToken.None);
        }
    }
}
