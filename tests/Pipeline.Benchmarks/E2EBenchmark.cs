using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using MQTTnet;
using Pipeline.Host;
using Pipeline.Host.Demo;
using Pipeline.Zarr.Storage;
using RabbitMQ.Client;

namespace Pipeline.Benchmarks;

/// <summary>
/// The end-to-end benchmark of issue 9: N GRIB2 files of one run announced over AMQP (Sarracenia v03), fetched from a
/// loopback HTTP server, decoded, written as Zarr to s3rver, notified on Mosquitto; files/s, M values/s, latency from
/// announcement to notification (p50, p99) and peak memory as the backlog grows. Needs the harness's services
/// (<c>./build.sh services</c>, then the PIPELINE_TEST_* exports). Usage:
/// <c>dotnet run -c Release --project tests/Pipeline.Benchmarks -- e2e N [--resolution DEG] [--out DIR] [--file-zarr full|staging]</c>
/// (<c>--file-zarr</c>: the dataset's <c>Outputs:FileZarr</c>, its default when left out);
/// <c>e2e_bench.sh</c> runs it beside the Python path (cfgrib + xarray to_zarr) on the same files.
/// </summary>
public static class E2EBenchmark
{
    private const string Topic = "origin/a/wis2/xx-bench/data/core/weather/prediction/forecast/medium-range/deterministic";

    public static async Task<int> RunAsync(string[] args)
    {
        var n = args.Length > 0 && int.TryParse(args[0], out var count) ? count : 100;
        var resolution = Option(args, "--resolution", 1.0);
        var work = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Directory.CreateTempSubdirectory("pipeline-e2e-").FullName;
        string Env(string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} is not set: run ./build.sh services and eval its exports");
        var amqpUri = Env("PIPELINE_TEST_AMQP_URI");
        var mqtt = Env("PIPELINE_TEST_MQTT").Split(':');
        var s3Endpoint = Env("PIPELINE_TEST_S3_ENDPOINT");

        // 1. The run: n steps, one file each.
        var source = Path.Combine(work, "source");
        var clock = Stopwatch.StartNew();
        var run = DemoModelRun.Generate(source, new DemoModelRunOptions { Resolution = resolution, LastStep = n - 1, StepInterval = 1 });
        Console.WriteLine($"generated {run.Files.Count} files, {run.TotalBytes / 1e6:0.0} MB, {run.TotalValues / 1e6:0.0} M values in {clock.Elapsed.TotalSeconds:0.0} s ({work})");
        // The baseline: what is left once generating the files is collected, before the node starts.
        var before = LiveAfterFullCollection();
        Console.WriteLine($"before the node (full compacting GC): live heap {before.Heap / 1e6:0} MB (LOH {before.Loh / 1e6:0} MB), working set {before.WorkingSet / 1e6:0} MB");
        using var pool = args.Contains("--pool-events") ? new PoolEvents() : null;
        await using var server = await DemoDataServer.StartAsync(source);
        server.PublishAll(run);

        var id = Guid.NewGuid().ToString("N")[..8];
        var bucket = "e2e-" + id;
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_S3", s3Endpoint);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        using (var s3 = new S3ObjectStore(S3StoreOptions.FromUri($"s3://{bucket}"))) await s3.EnsureBucketAsync();

        var exchange = "xpublic-e2e-" + id;
        var factory = new ConnectionFactory { Uri = new Uri(amqpUri) };
        await using var amqp = await factory.CreateConnectionAsync();
        await using var channel = await amqp.CreateChannelAsync(new CreateChannelOptions(true, true));
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: false, autoDelete: true);

        // Notifications: receive time per data id.
        var notified = new ConcurrentDictionary<string, DateTimeOffset>();
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            var wnm = JsonNode.Parse(Encoding.UTF8.GetString(e.ApplicationMessage.Payload))!;
            notified.TryAdd(wnm["properties"]!["data_id"]!.GetValue<string>(), DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mqtt[0], int.Parse(mqtt[1], CultureInfo.InvariantCulture)).WithClientId("e2e-" + id).Build());
        await subscriber.SubscribeAsync(Topic, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);

        var settings = new Dictionary<string, string?>
        {
            ["Pipeline:Node:Port"] = "0",
            ["Pipeline:Management:Urls"] = "http://127.0.0.1:0",
            ["Pipeline:Persistence:DataDirectory"] = Path.Combine(work, "node"),
            ["Pipeline:Ingest:DataDirectory"] = Path.Combine(work, "node"),
            ["Pipeline:Wis2:Broker"] = $"mqtt://{mqtt[0]}:{mqtt[1]}",
            ["Pipeline:Wis2:ClientId"] = "pipeline-e2e-" + id,
            ["Pipeline:Datasets:0:Id"] = "bench",
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/[a-z]+\.t\d{2}z\.pgrb2\.[0-9a-z]+\.f(?<step>\d{3})$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = run.Files.Count.ToString(CultureInfo.InvariantCulture),
            ["Pipeline:Datasets:0:Outputs:Store"] = args.Contains("--local-store") ? Path.Combine(work, "store") : $"s3://{bucket}/zarr",
            ["Pipeline:Datasets:0:Outputs:PublicBaseUrl"] = args.Contains("--local-store") ? "http://127.0.0.1/store" : null,
            ["Pipeline:Datasets:0:Outputs:WnmTopic"] = Topic,
            ["Pipeline:Sources:0:Name"] = "feed",
            ["Pipeline:Sources:0:Type"] = "amqp",
            ["Pipeline:Sources:0:Uri"] = amqpUri,
            ["Pipeline:Sources:0:Exchange"] = exchange,
            ["Pipeline:Sources:0:Queue"] = "q_e2e." + id,
            ["Pipeline:Sources:0:Topics:0"] = "v03.#",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Pipeline.Streams.Ingest.RunFinalizer"] = "Information", // where finalization's time goes
        };
        if (args.SkipWhile(a => a != "--file-zarr").Skip(1).FirstOrDefault() is { } mode) settings["Pipeline:Datasets:0:Outputs:FileZarr"] = mode;
        var app = PipelineHost.Build([], overrides: settings);
        var fileZarr = args.SkipWhile(a => a != "--file-zarr").Skip(1).FirstOrDefault();
        Console.WriteLine($"per-file output (Outputs:FileZarr): {fileZarr ?? Pipeline.Actors.Catalog.FileZarrModes.Default + " (default)"}");
        await app.StartAsync();
        try
        {
            // Wait for the source's queue, then announce everything at once: the backlog is the whole run.
            while (true)
            {
                try
                {
                    await using var probe = await amqp.CreateChannelAsync();
                    if ((await probe.QueueDeclarePassiveAsync("q_e2e." + id)).ConsumerCount > 0) break;
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                }
                await Task.Delay(200);
            }

            // Memory as the backlog goes by: the process's working set and the GC's view of it (heap after the last GC,
            // committed, the large object heap where decoded fields and chunk buffers live), at each tenth of the run.
            var peak = 0L;
            var peakHeap = 0L;
            var byProgress = new SortedDictionary<int, MemorySample>();
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                var self = Process.GetCurrentProcess();
                while (!sampling.IsCancellationRequested)
                {
                    self.Refresh();
                    var sample = MemorySample.Take(self);
                    peak = Math.Max(peak, sample.WorkingSet);
                    peakHeap = Math.Max(peakHeap, sample.Heap);
                    var tenth = notified.Count * 10 / Math.Max(1, run.Files.Count);
                    // The largest sample of each tenth, not its first: what the node needed there.
                    if (!byProgress.TryGetValue(tenth, out var seen) || sample.WorkingSet > seen.WorkingSet) byProgress[tenth] = sample;
                    try
                    {
                        await Task.Delay(100, sampling.Token);
                    }
                    catch (TaskCanceledException)
                    {
                    }
                }
            });
            var announcedAt = new Dictionary<string, DateTimeOffset>();
            var total = Stopwatch.StartNew();
            foreach (var f in run.Files)
            {
                var now = DateTimeOffset.UtcNow;
                var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                {
                    ["pubTime"] = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff", CultureInfo.InvariantCulture),
                    ["baseUrl"] = server.BaseUrl,
                    ["relPath"] = f.RelPath,
                    ["identity"] = new Dictionary<string, string> { ["method"] = "sha512", ["value"] = f.Sha512 },
                    ["size"] = f.Size,
                });
                announcedAt[Path.GetFileName(f.RelPath)] = now;
                await channel.BasicPublishAsync(exchange, "v03.bench", mandatory: false, new BasicProperties(), body);
            }
            var expected = run.Files.Count + 1;
            while (notified.Count < expected && total.Elapsed < TimeSpan.FromMinutes(60)) await Task.Delay(50);
            total.Stop();
            await sampling.CancelAsync();
            await sampler;

            var latencies = notified.Where(kv => !kv.Key.EndsWith("/run", StringComparison.Ordinal))
                .Select(kv => (kv.Value - announcedAt[kv.Key.Split('/')[^1]]).TotalSeconds).Order().ToArray();
            double Pct(double p) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];
            var seconds = total.Elapsed.TotalSeconds;
            Console.WriteLine($"pipeline: {run.Files.Count} files in {seconds:0.00} s (announce -> last notification, run finalized): " +
                              $"{run.Files.Count / seconds:0.0} files/s, {run.TotalValues / seconds / 1e6:0.00} M values/s, " +
                              $"latency p50 {Pct(0.5):0.00} s p99 {Pct(0.99):0.00} s, peak working set {peak / 1e6:0} MB, peak GC heap {peakHeap / 1e6:0} MB, " +
                              $"{notified.Count} notifications");
            Console.WriteLine($"RESULT seconds={seconds.ToString("0.000", CultureInfo.InvariantCulture)} files={run.Files.Count} values={run.TotalValues} " +
                              $"p50={Pct(0.5).ToString("0.000", CultureInfo.InvariantCulture)} p99={Pct(0.99).ToString("0.000", CultureInfo.InvariantCulture)} peakMB={peak / 1_000_000} peakHeapMB={peakHeap / 1_000_000} " +
                              $"source={source}");
            var lastFile = notified.Where(kv => !kv.Key.EndsWith("/run", StringComparison.Ordinal)).Select(kv => kv.Value).DefaultIfEmpty().Max();
            var runAt = notified.Where(kv => kv.Key.EndsWith("/run", StringComparison.Ordinal)).Select(kv => kv.Value).DefaultIfEmpty().Max();
            Console.WriteLine($"finalization (last file notification -> run notification): {(runAt - lastFile).TotalSeconds:0.00} s");
            Console.WriteLine("working set by progress (tenths of the files notified; the largest sample of each; of it file-backed): " +
                              string.Join(", ", byProgress.Select(kv => $"{kv.Key * 10}%: {kv.Value.WorkingSet / 1e6:0} MB ({kv.Value.FileBacked / 1e6:0})")));
            Console.WriteLine("GC heap by progress (heap after the last GC / committed / LOH / LOH free, MB; gen2 collections so far): " +
                              string.Join(", ", byProgress.Select(kv => $"{kv.Key * 10}%: {kv.Value.Heap / 1e6:0}/{kv.Value.Committed / 1e6:0}/{kv.Value.Loh / 1e6:0}/{kv.Value.LohFree / 1e6:0} #{kv.Value.Gen2}")));
            var gc = GC.GetGCMemoryInfo(GCKind.Any);
            Console.WriteLine($"GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections (gen0/1/2), " +
                              $"{gc.PauseTimePercentage:0.0}% paused, {GC.GetTotalAllocatedBytes() / 1e9:0.0} GB allocated, " +
                              $"heap hard limit {(gc.TotalAvailableMemoryBytes / 1e9):0.0} GB available");
            // What the node still holds once the backlog is done (the run finalized): a full compacting collection
            // leaves only what is reachable. Anything here that grows with N is a leak, not the GC's slack.
            var after = LiveAfterFullCollection();
            Console.WriteLine($"after the run (full compacting GC): live heap {after.Heap / 1e6:0} MB (LOH {after.Loh / 1e6:0} MB), " +
                              $"committed {after.Committed / 1e6:0} MB, working set {after.WorkingSet / 1e6:0} MB");
            if (pool is not null) Console.WriteLine(pool.Report());
            return notified.Count >= expected ? 0 : 1;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>One sample of the process's memory: working set, and the GC heap as of the last collection (size, committed, LOH).</summary>
    /// <param name="FileBacked">Of the working set, pages of mapped files (the runtime's and our libraries' code, GRIB2 files being
    /// decoded), which the kernel can drop and read again: Linux's RssFile, 0 elsewhere.</param>
    private readonly record struct MemorySample(long WorkingSet, long Heap, long Committed, long Loh, long LohFree, int Gen2, long FileBacked = 0)
    {
        public static MemorySample Take(Process self)
        {
            var info = GC.GetGCMemoryInfo(GCKind.Any);
            var generations = info.GenerationInfo;
            return new MemorySample(self.WorkingSet64, info.HeapSizeBytes, info.TotalCommittedBytes, generations.Length > 3 ? generations[3].SizeAfterBytes : 0,
                generations.Length > 3 ? generations[3].FragmentationAfterBytes : 0, GC.CollectionCount(2), RssFile());
        }

        private static long RssFile()
        {
            try
            {
                var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("RssFile:", StringComparison.Ordinal));
                return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
            catch (IOException)
            {
                return 0;
            }
        }
    }

    private static MemorySample LiveAfterFullCollection()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        using var self = Process.GetCurrentProcess();
        return new MemorySample(self.WorkingSet64, info.HeapSizeBytes, info.TotalCommittedBytes, info.GenerationInfo[3].SizeAfterBytes,
            info.GenerationInfo[3].FragmentationAfterBytes, GC.CollectionCount(2));
    }

    /// <summary>
    /// <c>--pool-events</c>: the shared array pools' large buffers (1 MiB and more) allocated because the pool had none
    /// (each is a large object the pool may keep), dropped on return because the pool was full, and trimmed.
    /// </summary>
    private sealed class PoolEvents : System.Diagnostics.Tracing.EventListener
    {
        private readonly ConcurrentDictionary<(string Event, long Size), long> _counts = new();

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "System.Buffers.ArrayPoolEventSource")
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose);
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName is not ("BufferAllocated" or "BufferDropped" or "BufferTrimmed") || e.Payload is null) return;
            var size = Convert.ToInt64(e.Payload[e.PayloadNames!.IndexOf("bufferSize")], CultureInfo.InvariantCulture);
            if (size >= 1 << 20) _counts.AddOrUpdate((e.EventName, size), 1, (_, c) => c + 1);
        }

        public string Report() => "array pools, buffers of 1 Mi elements or more: " + (_counts.IsEmpty ? "none" :
            string.Join(", ", _counts.OrderBy(kv => kv.Key.Event).ThenBy(kv => kv.Key.Size).Select(kv => $"{kv.Key.Event} {kv.Key.Size >> 20} Mi x{kv.Value}")));
    }

    private static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
