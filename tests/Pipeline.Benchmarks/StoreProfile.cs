using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;
using Pipeline.Host.Demo;
using Pipeline.Streams.Ingest;
using Pipeline.Zarr.Storage;

namespace Pipeline.Benchmarks;

/// <summary>
/// Where the per-file time of the ingest graph goes (issue 9): the object store's requests per file (by operation,
/// count and summed latency) and the wall time of <see cref="FileProcessor"/> on s3rver and on a local directory,
/// beside the store's raw small-object PUT rate (the floor any layout pays per object). Usage:
/// <c>dotnet run -c Release --project tests/Pipeline.Benchmarks -- store-profile [FILES=8] [--resolution DEG] [--concurrency C] [--file-zarr full|staging]</c>
/// (needs <c>PIPELINE_TEST_S3_ENDPOINT</c> from <c>./build.sh services</c>).
/// </summary>
public static class StoreProfile
{
    public static async Task<int> RunAsync(string[] args)
    {
        var n = args.Length > 0 && int.TryParse(args[0], out var count) ? count : 8;
        var resolution = Option(args, "--resolution", 1.0);
        var concurrency = (int)Option(args, "--concurrency", 2);
        var fileZarr = args.SkipWhile(a => a != "--file-zarr").Skip(1).FirstOrDefault() ?? FileZarrModes.Default;
        if (!FileZarrModes.IsKnown(fileZarr)) throw new ArgumentException($"--file-zarr: must be {FileZarrModes.Full} or {FileZarrModes.Staging}, was '{fileZarr}'");
        var endpoint = Environment.GetEnvironmentVariable("PIPELINE_TEST_S3_ENDPOINT")
                       ?? throw new InvalidOperationException("PIPELINE_TEST_S3_ENDPOINT is not set: run ./build.sh services and eval its exports");
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_S3", endpoint);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        var work = Directory.CreateTempSubdirectory("pipeline-store-profile-").FullName;
        try
        {
            var run = DemoModelRun.Generate(Path.Combine(work, "source"), new DemoModelRunOptions { Resolution = resolution, LastStep = n - 1, StepInterval = 1 });
            Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}; Outputs:FileZarr {fileZarr}; {run.Files.Count} files, {run.TotalValues / 1e6:0.0} M values, {run.Files[0].FieldCount} fields per file");
            var s3rverPid = S3rverPid(new Uri(endpoint).Port);
            var bucket = "profile-" + Guid.NewGuid().ToString("N")[..8];
            using var s3 = new S3ObjectStore(S3StoreOptions.FromUri($"s3://{bucket}"));
            await s3.EnsureBucketAsync();

            // 1. The floor: small PUTs (1 KB) through the same store, at several concurrencies.
            var blob = new byte[1024];
            Random.Shared.NextBytes(blob);
            foreach (var c in new[] { 1, 4, 16, 64 })
            {
                const int puts = 400;
                var (ours, theirs) = (Cpu(null), Cpu(s3rverPid));
                var clock = Stopwatch.StartNew();
                await Parallel.ForAsync(0, puts, new ParallelOptions { MaxDegreeOfParallelism = c },
                    async (i, ct) => await s3.PutAsync($"floor/{c}/{i}", blob, ct));
                Console.WriteLine($"s3rver raw 1 KB PUT, {c,2} in flight: {puts / clock.Elapsed.TotalSeconds,6:0} PUT/s ({clock.Elapsed.TotalMilliseconds / puts:0.00} ms each on the wall); " +
                                  $"CPU per PUT: ours {(Cpu(null) - ours) / puts:0.00} ms, s3rver {(Cpu(s3rverPid) - theirs) / puts:0.00} ms");
            }
            {
                const int gets = 200;
                var clock = Stopwatch.StartNew();
                await Parallel.ForAsync(0, gets, new ParallelOptions { MaxDegreeOfParallelism = 1 }, async (i, ct) => await s3.TryGetAsync($"floor/1/{i}", ct));
                Console.WriteLine($"s3rver raw 1 KB GET, 1 in flight: {gets / clock.Elapsed.TotalSeconds:0} GET/s");
                clock.Restart();
                for (var i = 0; i < 50; i++) await s3.ListAllAsync("floor/4/");
                Console.WriteLine($"s3rver LIST of 400 keys: {clock.Elapsed.TotalMilliseconds / 50:0.0} ms each");
            }

            // 2. FileProcessor per file, one file after another then `concurrency` at once, on s3rver and on a local directory.
            foreach (var (label, address) in new[] { ("s3rver", $"s3://{bucket}/zarr"), ("local", Path.Combine(work, "store")) })
            {
                foreach (var c in new[] { 1, concurrency }.Distinct())
                {
                    var profiled = new ProfilingStore(OutputStores.Open(address));
                    using var stores = new OutputStores(address, open: _ => profiled);
                    var processor = new FileProcessor(stores);
                    var outputs = new OutputOptions { Store = address, FileZarr = fileZarr };
                    // Warm up (JIT) on the first file, not counted.
                    await processor.ProcessAsync(Work(run, run.Files[0], "warm"), run.Files[0].FullPath, outputs);
                    profiled.Reset();
                    var (ours, theirs) = (Cpu(null), Cpu(s3rverPid));
                    var clock = Stopwatch.StartNew();
                    await Parallel.ForEachAsync(run.Files, new ParallelOptions { MaxDegreeOfParallelism = c },
                        async (f, ct) => await processor.ProcessAsync(Work(run, f, "t" + c), f.FullPath, outputs, ct));
                    var wall = clock.Elapsed.TotalSeconds;
                    Console.WriteLine($"{label}, {c} file(s) at once: {run.Files.Count / wall:0.00} files/s, {wall / run.Files.Count * 1000:0} ms per file on the wall, " +
                                      $"{run.TotalValues / wall / 1e6:0.00} M values/s; CPU per file: ours {(Cpu(null) - ours) / run.Files.Count:0} ms, " +
                                      $"s3rver {(Cpu(s3rverPid) - theirs) / run.Files.Count:0} ms; requests per file: {profiled.Summary(run.Files.Count)}");
                    if (c != 1) continue;
                    // Finalizing that run: the run Zarr from the per-file chunks (store-side copies), refs, manifest.
                    var localFiles = new LocalFiles();
                    foreach (var f in run.Files) localFiles.Remember(Work(run, f, "t1").RunId, f.RelPath, f.FullPath);
                    await using var fetcher = new Pipeline.Streams.Fetch.Fetcher(new Pipeline.Streams.Fetch.FetchSettings
                    {
                        CacheDirectory = Path.Combine(work, "cache"), Defaults = new Pipeline.Streams.Fetch.FetchOptions { AllowedHosts = ["127.0.0.1"] },
                    });
                    using var http = new HttpClient();
                    var finalizer = new RunFinalizer(stores, fetcher, localFiles, new Wis2Notifier(null, new Pipeline.Streams.Announcements.InMemoryDeadLetterStore()), http);
                    var indexed = run.Files.Select(f => new FinalizedFile(f.RelPath, f.Sha512, f.RelPath, null, null, new Uri("http://127.0.0.1/" + f.RelPath))).ToList();
                    profiled.Reset();
                    (ours, theirs) = (Cpu(null), Cpu(s3rverPid));
                    clock.Restart();
                    var done = await finalizer.FinalizeAsync(new RunFinalization(Work(run, run.Files[0], "t1").RunId, 1, "complete", DateTimeOffset.UtcNow, indexed, [], outputs));
                    var took = clock.Elapsed.TotalSeconds;
                    Console.WriteLine($"{label}, finalizing those {run.Files.Count} files: {took:0.00} s ({done.FieldsCopied} of {done.Fields} fields copied); " +
                                      $"CPU: ours {Cpu(null) - ours:0} ms, s3rver {Cpu(s3rverPid) - theirs:0} ms; requests per file: {profiled.Summary(run.Files.Count)}");
                }
            }
            // What one file's objects are (local store of the last pass).
            var local = new LocalDirectoryStore(Path.Combine(work, "store"));
            var name0 = FileZarrModes.IsStaging(new OutputOptions { FileZarr = fileZarr })
                ? "staging/" + Path.GetFileName(run.Files[0].RelPath) + "/"
                : Path.GetFileName(run.Files[0].RelPath) + ".zarr/";
            var first = (await local.ListAllAsync("")).Select(o => o.Key).Where(k => k.Contains(name0, StringComparison.Ordinal))
                .GroupBy(k => k[..k.IndexOf(name0, StringComparison.Ordinal)]).First().ToList();
            string Kind(string k)
            {
                var name = k[(k.LastIndexOf('/') + 1)..];
                if (name.StartsWith('.')) return name;
                var array = k[..k.LastIndexOf('/')];
                array = array[(array.LastIndexOf('/') + 1)..];
                return array is "latitude" or "longitude" or "time" or "step" or "valid_time" or "isobaricInhPa" or "heightAboveGround" or "surface" or "meanSea"
                    ? "coordinate chunk" : "data chunk";
            }
            Console.WriteLine($"objects of one file's {(fileZarr == FileZarrModes.Full ? "Zarr" : "staging area")}: {first.Count}: " + string.Join(", ", first.GroupBy(Kind).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}")));
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static FileWork Work(DemoRun run, DemoFile f, string tag)
    {
        var runId = new ModelRunId(new DatasetId("profile"), new DateTimeOffset(run.RunTime.AddYears(tag.GetHashCode() & 0xff)));
        var location = new Uri("http://127.0.0.1/" + f.RelPath);
        var a = new Announcement("bench", "v03", f.RelPath, location, f.RelPath, null, f.Size, null, DateTimeOffset.UtcNow, "");
        return new FileWork(runId, new FileId(f.RelPath, f.Sha512), a, null, null, f.RelPath, 0, 0, new FetchOptions());
    }

    // CPU milliseconds of this process (null) or of another by pid, from /proc (0 when unknown).
    private static double Cpu(int? pid)
    {
        if (pid is null) return Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 1000.0 / 100; // utime + stime, USER_HZ 100
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return 0;
        }
    }

    // The s3rver process listening on the port (the harness starts it with --port N).
    private static int? S3rverPid(int port)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var i = Array.IndexOf(cmd, "--port");
                if (cmd.Any(a => a.Contains("s3rver", StringComparison.Ordinal)) && i >= 0 && i + 1 < cmd.Length && cmd[i + 1] == port.ToString(CultureInfo.InvariantCulture))
                    return pid;
            }
            catch (IOException)
            {
            }
        }
        return null;
    }

    private static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}

/// <summary>Counts every store call by operation with its summed latency.</summary>
internal sealed class ProfilingStore(IObjectStore inner) : IObjectStore
{
    private readonly ConcurrentDictionary<string, (long Count, long Ticks, long Bytes)> _ops = new();

    public string Location => inner.Location;

    public void Reset() => _ops.Clear();

    public string Summary(int files) => string.Join(", ", _ops.OrderBy(kv => kv.Key).Select(kv =>
        $"{kv.Key} {kv.Value.Count / (double)files:0.0} ({TimeSpan.FromTicks(kv.Value.Ticks / Math.Max(1, kv.Value.Count)).TotalMilliseconds:0.00} ms avg, {kv.Value.Bytes / (double)files / 1000:0} kB)"));

    private async Task<T> Time<T>(string op, long bytes, Func<Task<T>> call)
    {
        var t = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        finally
        {
            var ticks = Stopwatch.GetElapsedTime(t).Ticks;
            _ops.AddOrUpdate(op, (1, ticks, bytes), (_, v) => (v.Count + 1, v.Ticks + ticks, v.Bytes + bytes));
        }
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        Time("PUT", data.Length, async () => { await inner.PutAsync(key, data, cancellationToken); return 0; });

    public Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default) =>
        Time("PUT(stream)", 0, async () => { await inner.PutAsync(key, content, cancellationToken); return 0; });

    public Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default) => Time("GET", 0, () => inner.TryGetAsync(key, cancellationToken));

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) =>
        Time("GETRANGE", length, () => inner.GetRangeAsync(key, offset, length, cancellationToken));

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) => Time("HEAD", 0, () => inner.HeadAsync(key, cancellationToken));

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = await Time("LIST", 0, () => inner.ListAllAsync(prefix, cancellationToken));
        foreach (var o in list) yield return o;
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        Time("DELETE", 0, async () => { await inner.DeleteAsync(key, cancellationToken); return 0; });

    public Task<bool> CopyAsync(string source, string destination, CancellationToken cancellationToken = default) =>
        Time("COPY", 0, () => inner.CopyAsync(source, destination, cancellationToken));
}
