using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Persistence;
using Pipeline.Actors.Serialization;

namespace Pipeline.Benchmarks;

/// <summary>
/// Announcements admitted per second, end to end on one node: DataStream classification and routing, ModelRun
/// dedupe, one FilesAdmitted event (one journal row) per run batch, reply after the write. Each invocation admits <see cref="Announcements"/>
/// fresh announcements (plus 10 % duplicates) over 20 runs, in broker-sized batches of 500 with 8 batches in flight.
/// Ops/s = admissions/s (read the "Op/s" column, or 1e9 / Mean[ns]).
///   dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*Admission*'
/// PostgreSQL runs when PIPELINE_TEST_POSTGRES is set (./build.sh services prints it).
/// </summary>
[Config(typeof(AdmissionConfig))]
public class AdmissionBenchmarks
{
    public const int Announcements = 20_000;
    private const int Runs = 20;
    private const int BatchSize = 500;
    private const int InFlight = 8;
    private static readonly DatasetId Dataset = new("bench.model");

    private Microsoft.Extensions.Hosting.IHost _host = null!;
    private IActorRef _streams = null!;
    private string? _dir;
    private string? _database;
    private int _iteration;

    [ParamsSource(nameof(Providers))]
    public string Provider { get; set; } = "sqlite";

    /// <summary>How many runs one broker batch touches: 1 (a run's files arrive together, the usual case) or 20 (interleaved).</summary>
    [Params(1, 20)]
    public int RunsPerBatch { get; set; } = 1;

    public static IEnumerable<string> Providers() =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PIPELINE_TEST_POSTGRES"))
            ? ["memory", "sqlite"]
            : ["memory", "sqlite", "postgresql"];

    [GlobalSetup]
    public void Setup()
    {
        PipelinePersistenceOptions? persistence = null;
        if (Provider == "memory")
        {
            // The actors' own cost: Akka's in-memory journal instead of a database.
        }
        else if (Provider == "sqlite")
        {
            _dir = Path.Combine(Path.GetTempPath(), "pipeline-admission-bench", Guid.NewGuid().ToString("N"));
            // PIPELINE_BENCH_SQLITE_SYNCHRONOUS=Normal measures the fsync-at-checkpoints setting (default: the options' Full).
            persistence = new PipelinePersistenceOptions
            {
                DataDirectory = _dir,
                SqliteSynchronous = Environment.GetEnvironmentVariable("PIPELINE_BENCH_SQLITE_SYNCHRONOUS") is { Length: > 0 } sync
                    ? Enum.Parse<SqliteSynchronous>(sync, ignoreCase: true)
                    : new PipelinePersistenceOptions().SqliteSynchronous,
            };
        }
        else
        {
            var admin = Environment.GetEnvironmentVariable("PIPELINE_TEST_POSTGRES")!;
            _database = "pipeline_bench_" + Guid.NewGuid().ToString("N")[..12];
            Execute(admin, $"CREATE DATABASE {_database}");
            persistence = new PipelinePersistenceOptions
            {
                Provider = PersistenceProvider.PostgreSql,
                ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = _database }.ConnectionString,
            };
        }

        var catalog = DatasetCatalog.Create(new DatasetCatalogOptions
        {
            Datasets =
            [
                new DatasetOptions
                {
                    Id = Dataset.Value,
                    PathPatterns = [@"^(?<reftime>\d{10})/(?<var>[A-Z]+)_P(?<step>\d+)\.grib2$"],
                    Completeness = new CompletenessOptions { ExpectedCount = 1_000_000 },
                },
            ],
        });
        _host = new HostBuilder()
            .ConfigureServices(s => s.AddAkka("admission-bench", b => b
                .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
                .AddHocon(Environment.GetEnvironmentVariable("PIPELINE_BENCH_HOCON") ?? "", HoconAddMode.Prepend)
                .AddPipelineSerialization()
                .AddPersistence(persistence)
                .AddModelRunActor(catalog, new ModelRunSettings { SnapshotEvery = int.Parse(Environment.GetEnvironmentVariable("PIPELINE_BENCH_SNAPSHOT_EVERY") ?? "1000") }, new ModelRunPorts(new NullIntake(), new NullFinalizer()), clustered: false)
                .AddDataStreamActor(catalog, clustered: false)))
            .Build();
        _host.Start();
        _streams = ActorRegistry.For(_host.Services.GetRequiredService<ActorSystem>()).Get<DataStreamRegion>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
        if (_dir is not null) Directory.Delete(_dir, true);
        if (_database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            Execute(Environment.GetEnvironmentVariable("PIPELINE_TEST_POSTGRES")!, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
    }

    [Benchmark(OperationsPerInvoke = Announcements)]
    public async Task<int> Admit()
    {
        var day = new DateTime(2026, 1, 1).AddDays(_iteration++);
        var batches = Batches(day, RunsPerBatch).ToArray();
        var admitted = 0;
        using var gate = new SemaphoreSlim(InFlight);
        var tasks = batches.Select(async b =>
        {
            await gate.WaitAsync();
            try
            {
                var r = await _streams.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Dataset, b), TimeSpan.FromMinutes(2));
                Interlocked.Add(ref admitted, r.Outcomes.Count(o => o.Verdict == AdmissionVerdict.Admitted));
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        await Task.WhenAll(tasks);
        if (admitted != Announcements) throw new InvalidOperationException($"admitted {admitted} of {Announcements}");
        return admitted;
    }

    /// <summary>
    /// Console mode for profiling one provider without BenchmarkDotNet's process per case:
    /// <c>... -- admission sqlite|postgresql|memory [iterations] [runsPerBatch]</c>; extra HOCON in PIPELINE_BENCH_HOCON.
    /// </summary>
    public static async Task<int> RunConsoleAsync(string[] args)
    {
        var bench = new AdmissionBenchmarks { Provider = args.Length > 0 ? args[0] : "sqlite", RunsPerBatch = args.Length > 2 ? int.Parse(args[2]) : 1 };
        var iterations = args.Length > 1 ? int.Parse(args[1]) : 5;
        ProfileSerializer();
        bench.Setup();
        try
        {
            for (var i = 0; i <= iterations; i++)
            {
                // CPU time too: on a shared machine the wall clock says more about the neighbours than about us.
                var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await bench.Admit();
                var used = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu;
                Console.WriteLine($"{(i == 0 ? "warmup" : "iteration " + i)}: {Announcements / clock.Elapsed.TotalSeconds:F0} admissions/s " +
                                  $"({clock.Elapsed.TotalMilliseconds * 1000 / Announcements:F1} us each, {used.TotalMilliseconds * 1000 / Announcements:F1} us CPU each)");
            }
        }
        finally
        {
            bench.Cleanup();
        }

        return 0;
    }

    /// <summary>What the journal's serializer costs per admission: one FilesAdmitted of a broker batch, and back.</summary>
    private static void ProfileSerializer()
    {
        using var system = ActorSystem.Create("serializer-profile");
        var serializer = new PipelineSerializer((ExtendedActorSystem)system);
        var events = Batches(new DateTime(2026, 1, 1), 1).Select(b => (object)new FilesAdmitted(
            b.Select(a => new AdmittedFile(FileId.Of(a), a, "TMP", "000", "TMP/000")).ToArray(), DateTimeOffset.UtcNow)).ToArray();
        for (var round = 0; round < 3; round++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long bytes = 0;
            var payloads = events.Select(e => serializer.ToBinary(e)).ToArray();
            var write = clock.Elapsed;
            foreach (var p in payloads)
            {
                bytes += p.Length;
                serializer.FromBinary(p, "MRE9");
            }
            var files = events.Sum(e => ((FilesAdmitted)e).Files.Count);
            Console.WriteLine($"serializer: {write.TotalMilliseconds * 1000 / files:F2} us to write, " +
                              $"{(clock.Elapsed - write).TotalMilliseconds * 1000 / files:F2} us to read per admission, {bytes / files} bytes each");
        }
    }

    /// <summary>Broker-like batches over <see cref="Runs"/> runs; one in ten items repeats an earlier one.</summary>
    public static IEnumerable<Announcement[]> Batches(DateTime day, int runsPerBatch)
    {
        var all = new List<Announcement>(Announcements + Announcements / 10);
        const int perRun = Announcements / Runs;
        for (var i = 0; i < Announcements; i++)
        {
            // runsPerBatch 1: a run's files are contiguous; otherwise consecutive files rotate over that many runs.
            var run = runsPerBatch == 1 ? i / perRun : (i % runsPerBatch) + runsPerBatch * (i / (perRun * runsPerBatch));
            var rel = $"{day.AddHours(run):yyyyMMddHH}/TMP_P{i}.grib2";
            all.Add(new Announcement("bench", AnnouncementFormats.SarraceniaV03, rel, new Uri("http://127.0.0.1:9/" + rel), rel, null, 1000,
                new Integrity(IntegrityMethods.Sha256, "c" + i), day, "{}"));
            if (i % 10 == 9) all.Add(all[i - 5]);
        }

        return all.Chunk(BatchSize);
    }

    private static void Execute(string connection, string sql)
    {
        using var db = new NpgsqlConnection(connection);
        db.Open();
        using var cmd = new NpgsqlCommand(sql, db);
        cmd.ExecuteNonQuery();
    }

    private sealed class NullIntake : IFileWorkIntake
    {
        public bool TryOffer(FileWork work) => true;
    }

    private sealed class NullFinalizer : IRunFinalizationSink
    {
        public bool TryOffer(RunFinalization request) => true;
    }
}

/// <summary>Each invocation is seconds long: measure it a few times, in a separate process; builds are slow on a busy machine.</summary>
public sealed class AdmissionConfig : ManualConfig
{
    public AdmissionConfig()
    {
        AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
            .WithInvocationCount(1).WithUnrollFactor(1));
        WithBuildTimeout(TimeSpan.FromMinutes(15));
    }
}

internal static class AdmissionBenchmarkHosting
{
    public static AkkaConfigurationBuilder AddPersistence(this AkkaConfigurationBuilder builder, PipelinePersistenceOptions? options) =>
        options is null ? builder.WithInMemoryJournal().WithInMemorySnapshotStore() : builder.AddPipelinePersistence(options);
}
