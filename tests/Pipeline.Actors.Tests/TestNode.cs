using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Persistence;
using Pipeline.Actors.Serialization;

namespace Pipeline.Actors.Tests;

/// <summary>Records the work handed to the intake; refuses it while <see cref="Accepting"/> is false.</summary>
public sealed class RecordingIntake : IFileWorkIntake
{
    public ConcurrentQueue<FileWork> Offered { get; } = new();

    public volatile bool Accepting = true;

    public bool TryOffer(FileWork work)
    {
        if (!Accepting) return false;
        Offered.Enqueue(work);
        return true;
    }
}

public sealed class RecordingFinalizer : IRunFinalizationSink
{
    public ConcurrentQueue<RunFinalization> Requests { get; } = new();

    public bool TryOffer(RunFinalization request)
    {
        Requests.Enqueue(request);
        return true;
    }
}

/// <summary>
/// One node built with the production hosting extensions (serialization, persistence, ModelRun and DataStream),
/// on a real SQLite file (or PostgreSQL), local regions by default, a one-node cluster with sharding on request.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private readonly IHost _host;

    private TestNode(IHost host, RecordingIntake intake, RecordingFinalizer finalizer)
    {
        _host = host;
        Intake = intake;
        Finalizer = finalizer;
        System = host.Services.GetRequiredService<ActorSystem>();
        var registry = ActorRegistry.For(System);
        ModelRuns = registry.Get<ModelRunRegion>();
        DataStreams = registry.Get<DataStreamRegion>();
    }

    public ActorSystem System { get; }

    public IActorRef ModelRuns { get; }

    public IActorRef DataStreams { get; }

    public RecordingIntake Intake { get; }

    public RecordingFinalizer Finalizer { get; }

    public static async Task<TestNode> StartAsync(PipelinePersistenceOptions persistence, DatasetCatalog catalog,
        ModelRunSettings? settings = null, bool clustered = false)
    {
        var intake = new RecordingIntake();
        var finalizer = new RecordingFinalizer();
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("pipeline-test", b =>
            {
                b.AddHocon("akka.loglevel = INFO\nakka.log-dead-letters = off", HoconAddMode.Prepend)
                    .AddPipelineSerialization()
                    .AddPipelinePersistence(persistence);
                if (clustered)
                {
                    b.WithRemoting("127.0.0.1", 0)
                        .WithClustering(new ClusterOptions())
                        .AddStartup((system, _) =>
                        {
                            var cluster = Cluster.Get(system);
                            cluster.Join(cluster.SelfAddress);
                        });
                }

                b.AddModelRunActor(catalog, settings ?? new ModelRunSettings(), new ModelRunPorts(intake, finalizer), clustered)
                    .AddDataStreamActor(catalog, new DataStreamSettings { CounterInterval = TimeSpan.FromMilliseconds(200), WakeOpenRunsEvery = TimeSpan.FromMilliseconds(300) }, clustered);
            }))
            .Build();
        await host.StartAsync();
        return new TestNode(host, intake, finalizer);
    }

    public Task<T> Ask<T>(IModelRunCommand message) => ModelRuns.Ask<T>(message, TimeSpan.FromSeconds(30));

    public Task<T> Ask<T>(IDataStreamCommand message) => DataStreams.Ask<T>(message, TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>Fixtures shared by the specs.</summary>
public static class Fixtures
{
    public const string DatasetName = "test.model";

    public static readonly DateTimeOffset RefTime = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly ModelRunId Run = new(new DatasetId(DatasetName), RefTime);

    public static DatasetOptions DatasetOptions(CompletenessOptions? completeness = null, FetchOptions? fetch = null, string id = DatasetName) => new()
    {
        Id = id,
        PathPatterns = [@"^(?<date>\d{8})/(?<run>\d{2})/(?<var>[A-Z]+)_P(?<step>\d{3})\.grib2$"],
        Completeness = completeness ?? new CompletenessOptions { ExpectedCount = 1000 },
        Fetch = fetch ?? new FetchOptions(),
        Outputs = new OutputOptions { Store = "file:///tmp/out", WnmTopic = "origin/a/wis2/test/data/core/weather" },
    };

    public static DatasetCatalog CatalogOf(params DatasetOptions[] datasets) =>
        DatasetCatalog.Create(new DatasetCatalogOptions { Datasets = datasets.Length == 0 ? [DatasetOptions()] : [.. datasets] });

    public static Announcement Announcement(string var, int step, string checksum = "abc", string runHour = "00", string date = "20261101")
    {
        var rel = $"{date}/{runHour}/{var}_P{step:000}.grib2";
        return new Announcement("test-source", AnnouncementFormats.SarraceniaV03, rel, new Uri("http://127.0.0.1:9/" + rel), rel,
            "v02.post.test", 1234, new Integrity(IntegrityMethods.Sha256, checksum), RefTime.AddMinutes(step), "{}");
    }

    public static AdmissionRequest Request(string var, int step, string checksum = "abc")
    {
        var a = Announcement(var, step, checksum);
        return new AdmissionRequest(a, var, step.ToString("000"), $"{var}/{step:000}");
    }

    public static AdmitFiles Admit(params AdmissionRequest[] items) => new(Run, items);

    public static PipelinePersistenceOptions Sqlite(string dir) => new() { Provider = PersistenceProvider.Sqlite, DataDirectory = dir };

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pipeline-actors-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
