using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.DependencyInjection;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using Pipeline.Actors.Persistence;
using Pipeline.Actors.Sharding;

namespace Pipeline.Actors.Jobs;

/// <summary>PackageJob and registry tuning.</summary>
public sealed record PackageJobSettings
{
    /// <summary>How soon a job the runner refused (back-pressure) is offered again.</summary>
    public TimeSpan BackPressureRetry { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A finished job passivates after this long without a message.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public int SnapshotEvery { get; init; } = 200;

    /// <summary>The shard regions' role in a cluster; null for every node.</summary>
    public string? Role { get; init; }
}

/// <summary>
/// One packaging job (the entity id is the hash of its normalised parameters, so submitting the same job twice
/// reaches this same entity, which answers with the job it has). It hands each attempt to its node's runner, records
/// progress and the outcome, and completes once. After a crash or rebalance the recovered entity starts a new
/// attempt (the packages' keys are deterministic, so a repeated attempt rewrites the same objects); reports from an
/// older attempt are answered "stop". Cancelling persists the cancellation and stops the running attempt.
/// </summary>
public sealed class PackageJobActor : CompactingPersistentActor, IWithTimers
{
    private const string OfferTimer = "offer";

    private readonly string _jobId;
    private readonly IPackageJobIntake _intake;
    private readonly Func<IActorRef> _registry;
    private readonly PackageJobSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PackageJobState _state;
    private int _sinceSnapshot;

    public PackageJobActor(string jobId, IPackageJobIntake intake, Func<IActorRef> registry, PackageJobSettings settings, TimeProvider? clock = null)
    {
        _jobId = jobId;
        PersistenceId = "package-job-" + jobId;
        _intake = intake;
        _registry = registry;
        _settings = settings;
        _clock = clock ?? TimeProvider.System;
        _state = PackageJobState.Empty(jobId);

        Recover<SnapshotOffer>(o =>
        {
            if (o.Snapshot is PackageJobState s) _state = s;
        });
        Recover<IPackageJobEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            Context.SetReceiveTimeout(_settings.IdleTimeout);
            var resume = _state.Resume(_clock.GetUtcNow());
            if (resume.Count > 0)
            {
                _log.Info("PackageJob {JobId}: recovered unfinished, starting attempt {Attempt}", _jobId, _state.Attempt + 1);
                PersistAll(resume, Applied);
            }
            else if (_state.IsTerminal)
            {
                _registry().Tell(new SettlePackageJob(_jobId, _state.Status));
            }
        });

        Command<WakePackageJob>(_ => { });
        Command<OfferAgain>(_ => Offer());
        Command<IPackageJobCommand>(Decide);
        Command<ReceiveTimeout>(_ =>
        {
            if (!_state.NeedsWork) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
        CompactAfterSnapshots("PackageJob " + _jobId, _log);
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string jobId, IPackageJobIntake intake, Func<IActorRef> registry, PackageJobSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new PackageJobActor(jobId, intake, registry, settings, clock));

    private void Decide(IPackageJobCommand command)
    {
        var (reply, events) = _state.Handle(command, _clock.GetUtcNow());
        if (events.Count == 0)
        {
            if (reply is not null) Sender.Tell(reply);
            return;
        }

        var sender = Sender;
        PersistAll(events, PersistBatch.ThenAfterLast<IPackageJobEvent>(events.Count, Applied, () =>
        {
            if (reply is not null) sender.Tell(reply);
        }));
    }

    private void Applied(IPackageJobEvent e)
    {
        _state = _state.Apply(e);
        switch (e)
        {
            case PackageJobAttemptStarted:
                Offer();
                break;
            case PackageJobCancelled c:
                _log.Info("PackageJob {JobId}: cancelled ({Reason})", _jobId, c.Reason);
                Timers.Cancel(OfferTimer);
                _intake.Cancel(_jobId);
                _registry().Tell(new SettlePackageJob(_jobId, _state.Status));
                break;
            case PackageJobSucceeded s:
                _log.Info("PackageJob {JobId}: succeeded in attempt {Attempt} with {Packages} packages", _jobId, s.Attempt, s.Packages.Count);
                _registry().Tell(new SettlePackageJob(_jobId, _state.Status));
                break;
            case PackageJobFailed f:
                _log.Warning("PackageJob {JobId}: failed in attempt {Attempt}: {Reason}", _jobId, f.Attempt, f.Reason);
                _registry().Tell(new SettlePackageJob(_jobId, _state.Status));
                break;
        }

        if (++_sinceSnapshot < _settings.SnapshotEvery) return;
        _sinceSnapshot = 0;
        SaveSnapshot(_state);
    }

    private void Offer()
    {
        if (!_state.NeedsWork || _state.Spec is null) return;
        if (_intake.TryOffer(new PackageJobWork(_jobId, _state.Attempt, _state.Spec))) return;
        Timers.StartSingleTimer(OfferTimer, OfferAgain.Instance, _settings.BackPressureRetry);
    }

    private sealed record OfferAgain
    {
        public static readonly OfferAgain Instance = new();
    }
}

/// <summary>
/// The packaging registry (one entity): named boundaries and the index of jobs. When it recovers (each node sends
/// <see cref="WakePackagingRegistry"/> at start), it wakes every job that has not finished, so a job interrupted by
/// a crash resumes without anyone asking.
/// </summary>
public sealed class PackagingRegistryActor : CompactingPersistentActor
{
    public const string EntityId = "packaging";

    private readonly Func<IActorRef> _jobs;
    private readonly PackageJobSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PackagingRegistryState _state = PackagingRegistryState.Empty;
    private int _sinceSnapshot;

    public PackagingRegistryActor(Func<IActorRef> jobs, PackageJobSettings settings, TimeProvider? clock = null)
    {
        _jobs = jobs;
        _settings = settings;
        _clock = clock ?? TimeProvider.System;
        PersistenceId = "packaging-registry";

        Recover<SnapshotOffer>(o =>
        {
            if (o.Snapshot is PackagingRegistryState s) _state = s;
        });
        Recover<IPackagingRegistryEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            var unsettled = _state.Unsettled.ToList();
            if (unsettled.Count > 0) _log.Info("Packaging registry: waking {Jobs} unfinished jobs", unsettled.Count);
            foreach (var id in unsettled) _jobs().Tell(new WakePackageJob(id));
        });

        Command<WakePackagingRegistry>(_ => { });
        Command<IPackagingRegistryCommand>(c =>
        {
            var (reply, events) = _state.Handle(c, _clock.GetUtcNow());
            if (events.Count == 0)
            {
                if (reply is not null) Sender.Tell(reply);
                return;
            }

            var sender = Sender;
            PersistAll(events, PersistBatch.ThenAfterLast<IPackagingRegistryEvent>(events.Count, e =>
            {
                _state = _state.Apply(e);
                if (++_sinceSnapshot < _settings.SnapshotEvery) return;
                _sinceSnapshot = 0;
                SaveSnapshot(_state);
            }, () =>
            {
                if (reply is not null) sender.Tell(reply);
            }));
        });
        CompactAfterSnapshots("Packaging registry", _log);
    }

    public override string PersistenceId { get; }
}

/// <summary>The registry key of the PackageJob shard region.</summary>
public sealed class PackageJobRegion;

/// <summary>The registry key of the packaging registry's shard region.</summary>
public sealed class PackagingRegistryRegion;

public sealed class PackageJobMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    public const int ShardCount = 50;

    public override string? EntityId(object message) => message is IPackageJobCommand m ? m.JobId : null;
}

public sealed class PackagingRegistryMessageExtractor() : HashCodeMessageExtractor(1)
{
    public override string? EntityId(object message) => message is IPackagingRegistryCommand ? PackagingRegistryActor.EntityId : null;
}

public static class PackageJobHostingExtensions
{
    public const string JobTypeName = "package-job";
    public const string RegistryTypeName = "packaging-registry";

    /// <summary>
    /// Adds the PackageJob entities (never remember-entities: the registry wakes unfinished jobs) and the packaging
    /// registry, sharded when <paramref name="clustered"/>, else local regions. Without <paramref name="intake"/>,
    /// <see cref="IPackageJobIntake"/> is taken from the service provider. Sends <see cref="WakePackagingRegistry"/>
    /// once the system runs, so unfinished jobs resume after a restart.
    /// </summary>
    public static AkkaConfigurationBuilder AddPackageJobActors(this AkkaConfigurationBuilder builder, PackageJobSettings? settings = null,
        IPackageJobIntake? intake = null, bool clustered = true)
    {
        settings ??= new PackageJobSettings();
        var jobExtractor = new PackageJobMessageExtractor();
        var registryExtractor = new PackagingRegistryMessageExtractor();

        Func<string, Props> JobFactory(IActorRegistry registry, IDependencyResolver resolver)
        {
            var port = intake ?? resolver.GetService<IPackageJobIntake>();
            return id => PackageJobActor.Props(id, port, () => registry.Get<PackagingRegistryRegion>(), settings);
        }

        Func<string, Props> RegistryFactory(IActorRegistry registry) =>
            _ => Props.Create(() => new PackagingRegistryActor(() => registry.Get<PackageJobRegion>(), settings, null));

        if (clustered)
        {
            builder.WithShardRegion<PackageJobRegion>(JobTypeName, (_, registry, resolver) => JobFactory(registry, resolver), jobExtractor,
                new ShardOptions { Role = settings.Role, RememberEntities = false, StateStoreMode = StateStoreMode.Persistence });
            builder.WithShardRegion<PackagingRegistryRegion>(RegistryTypeName, (_, registry, _) => RegistryFactory(registry), registryExtractor,
                new ShardOptions { Role = settings.Role, RememberEntities = false, StateStoreMode = StateStoreMode.Persistence });
        }
        else
        {
            builder.WithActors((system, registry, resolver) =>
            {
                registry.Register<PackageJobRegion>(system.ActorOf(LocalEntityRegion.Props(jobExtractor, JobFactory(registry, resolver)), JobTypeName));
                registry.Register<PackagingRegistryRegion>(system.ActorOf(LocalEntityRegion.Props(registryExtractor, RegistryFactory(registry)), RegistryTypeName));
            });
        }

        return builder.AddStartup((_, registry) => registry.Get<PackagingRegistryRegion>().Tell(new WakePackagingRegistry()));
    }
}
