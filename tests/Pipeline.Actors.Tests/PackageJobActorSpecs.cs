using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Actors.Jobs;
using Pipeline.Actors.Serialization;
using Pipeline.Actors.Persistence;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

/// <summary>The PackageJob entity and the packaging registry on a real SQLite journal, recovered on a new actor system.</summary>
public sealed class PackageJobActorSpecs : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _dir = TempDir();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private sealed class Intake : IPackageJobIntake
    {
        public ConcurrentQueue<PackageJobWork> Offered { get; } = new();
        public ConcurrentQueue<string> Cancelled { get; } = new();

        public bool TryOffer(PackageJobWork work)
        {
            Offered.Enqueue(work);
            return true;
        }

        public void Cancel(string jobId) => Cancelled.Enqueue(jobId);
    }

    private async Task<(IHost Host, IActorRef Jobs, IActorRef Registry)> StartAsync(Intake intake)
    {
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("pipeline-test", b => b
                .AddHocon("akka.loglevel = INFO\nakka.log-dead-letters = off", HoconAddMode.Prepend)
                .AddPipelineSerialization()
                .AddPipelinePersistence(Sqlite(_dir))
                .AddPackageJobActors(new PackageJobSettings(), intake, clustered: false)))
            .Build();
        await host.StartAsync();
        var registry = ActorRegistry.For(host.Services.GetRequiredService<ActorSystem>());
        return (host, registry.Get<PackageJobRegion>(), registry.Get<PackagingRegistryRegion>());
    }

    private static Task AwaitAsync(Func<bool> condition, string what) => AwaitAsync(() => Task.FromResult(condition()), what);

    private static async Task AwaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Should_start_a_new_attempt_after_recovery_and_complete_once_when_the_system_restarts_mid_job()
    {
        var spec = PackageJobSamples.Spec;
        var id = spec.Identity();
        var first = new Intake();
        var (host, jobs, registry) = await StartAsync(first);
        await registry.Ask<PackageJobRegistered>(new RegisterPackageJob(id), Deadline);
        var created = await jobs.Ask<PackageJobView>(new SubmitPackageJob(id, spec), Deadline);
        Assert.True(created.Created);
        var again = await jobs.Ask<PackageJobView>(new SubmitPackageJob(id, spec), Deadline);
        Assert.False(again.Created);
        await AwaitAsync(() => first.Offered.Count == 1, "attempt 1 offered");
        var ack = await jobs.Ask<PackageJobAck>(new ReportPackageJobProgress(id, 1, new PackageJobStep("d", "inputs", 1, 3, null)), Deadline);
        Assert.True(ack.Continue);
        await host.StopAsync();
        host.Dispose();

        // A new system on the same journal: the registry wakes the unfinished job, which offers attempt 2 by itself.
        var second = new Intake();
        (host, jobs, _) = await StartAsync(second);
        try
        {
            await AwaitAsync(() => second.Offered.Count == 1, "attempt 2 offered after recovery");
            Assert.Equal(2, second.Offered.Single().Attempt);
            Assert.False((await jobs.Ask<PackageJobAck>(new ReportPackageJobSucceeded(id, 1, []), Deadline)).Continue);
            Assert.True((await jobs.Ask<PackageJobAck>(new ReportPackageJobSucceeded(id, 2, []), Deadline)).Continue);
            var view = await jobs.Ask<PackageJobView>(new GetPackageJob(id), Deadline);
            Assert.Equal(PackageJobStatus.Succeeded, view.Status);
            Assert.Equal(1, view.Completions);
            Assert.Equal(2, view.Attempt);
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task Should_stop_the_running_attempt_and_settle_the_job_when_it_is_cancelled()
    {
        var spec = PackageJobSamples.Spec with { Variables = ["prmsl"] };
        var id = spec.Identity();
        var intake = new Intake();
        var (host, jobs, registry) = await StartAsync(intake);
        try
        {
            await registry.Ask<PackageJobRegistered>(new RegisterPackageJob(id), Deadline);
            await jobs.Ask<PackageJobView>(new SubmitPackageJob(id, spec), Deadline);
            var view = await jobs.Ask<PackageJobView>(new CancelPackageJob(id, "operator"), Deadline);
            Assert.Equal(PackageJobStatus.Cancelled, view.Status);
            await AwaitAsync(() => intake.Cancelled.Contains(id), "the intake told to cancel");
            Assert.False((await jobs.Ask<PackageJobAck>(new ReportPackageJobProgress(id, 1, new PackageJobStep("d", "write", 1, 2, null)), Deadline)).Continue);
            await AwaitAsync(async () => (await registry.Ask<PackageJobIndex>(new ListPackageJobs(), Deadline)).Jobs.Single().Settled == PackageJobStatus.Cancelled,
                "the registry knows the job is settled");
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
