using Pipeline.Actors.Persistence;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.DependencyInjection;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.Sharding;

namespace Pipeline.Actors.ModelRuns;

/// <summary>
/// One model run (dataset + reference time): admits announcements, hands admitted files to the node's work intake,
/// records their milestones, retries files that are not there yet, completes and finalizes the run once per
/// generation, refreshes on demand. The actor only persists, replies, snapshots and schedules: the decisions are
/// <see cref="ModelRunState.Handle"/> and <see cref="ModelRunState.Apply"/>.
/// </summary>
public sealed class ModelRunActor : CompactingPersistentActor, IWithTimers
{
    private const string OfferTimer = "offer";
    private const string FinalizeTimer = "finalize";
    private const string QuietTimer = "quiet";
    private const string StallTimer = "stall";

    private readonly ModelRunId _runId;
    private readonly ModelRunRules _rules;
    private readonly Dataset? _dataset;
    private readonly ModelRunPorts _ports;
    private readonly ModelRunSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<FileWork> _pending = new();
    private readonly Dictionary<string, DateTimeOffset> _offeredAt = new(StringComparer.Ordinal);
    private ModelRunState _state;
    private bool _completing;
    private int _sinceSnapshot;

    public ModelRunActor(string entityId, DatasetCatalog catalog, ModelRunPorts ports, ModelRunSettings settings, TimeProvider? clock = null)
    {
        _runId = ModelRunId.Parse(entityId);
        PersistenceId = "model-run-" + entityId;
        _dataset = catalog.TryGet(_runId.Dataset, out var d) ? d : null;
        _rules = _dataset is null ? ModelRunRules.None : ModelRunRules.Of(_dataset);
        _ports = ports;
        _settings = settings;
        _clock = clock ?? TimeProvider.System;
        _state = ModelRunState.Empty(_runId);

        Recover<SnapshotOffer>(o =>
        {
            if (o.Snapshot is ModelRunState s) _state = s;
        });
        Recover<IModelRunEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<AdmitFiles>(c =>
        {
            if (_dataset is null)
            {
                Sender.Tell(new AdmitFilesResult(_runId, c.Items.Select(i => new AdmissionOutcome(i.Announcement.DataId,
                    AdmissionVerdict.Rejected, $"dataset '{_runId.Dataset}' is not in the catalog")).ToArray()));
                return;
            }

            Decide(c);
        });
        // Recovery already re-drove what was unfinished; the sender (the DataStream) learns whether to keep waking us.
        Command<WakeModelRun>(_ =>
        {
            if (!Sender.IsNobody()) Sender.Tell(new ModelRunWoken(_runId, !Busy));
        });
        Command<IModelRunCommand>(Decide);
        Command<RetryDue>(OnRetryDue);
        Command<OfferPending>(_ => FlushPending());
        Command<FinalizeAgain>(_ =>
        {
            if (_state.AwaitsFinalization) EmitFinalization();
        });
        Command<QuietPeriodOver>(_ => CheckCompletion());
        Command<StallCheck>(_ => RedriveStalled());
        Command<ReceiveTimeout>(_ => OnIdle());
        CompactAfterSnapshots("ModelRun " + _runId, _log);
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string entityId, DatasetCatalog catalog, ModelRunPorts ports, ModelRunSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ModelRunActor(entityId, catalog, ports, settings, clock));

    private DateTimeOffset Now => _clock.GetUtcNow();

    private void Decide(IModelRunCommand command)
    {
        var (reply, events) = _state.Handle(command, _rules, Now);
        if (events.Count == 0)
        {
            Sender.Tell(reply);
            return;
        }

        var sender = Sender;
        PersistAll(events, PersistBatch.ThenAfterLast<IModelRunEvent>(events.Count, Applied, () =>
        {
            sender.Tell(reply);
            CheckCompletion();
            ArmQuietTimer();
        }));
    }

    /// <summary>Folds a freshly persisted event in and performs its side effects.</summary>
    private void Applied(IModelRunEvent e)
    {
        _state = _state.Apply(e);
        switch (e)
        {
            case FilesAdmitted a:
                foreach (var f in a.Files)
                {
                    // Two versions of one file in a batch: the later one is the file now; offer it once.
                    if (_state.Files.TryGetValue(f.File.DataId, out var now) && now.Id != f.File) continue;
                    Timers.Cancel(RetryKey(f.File.DataId));
                    Offer(f.File.DataId);
                }

                break;
            case FileRetryScheduled r:
                StartRetryTimer(r.File, r.DueAt);
                break;
            case FileFetched f:
                _offeredAt[f.File.DataId] = f.At;
                break;
            case FileIndexed i:
                Timers.Cancel(RetryKey(i.File.DataId));
                _offeredAt.Remove(i.File.DataId);
                break;
            case FileFailed x:
                Timers.Cancel(RetryKey(x.File.DataId));
                _offeredAt.Remove(x.File.DataId);
                break;
            case RunRefreshed r:
                _log.Info("ModelRun {ModelRunId}: refreshing {Files} files (generation {Generation}): {Reason}", _runId, r.DataIds.Count,
                    r.Generation, r.Reason);
                foreach (var id in r.DataIds)
                {
                    Timers.Cancel(RetryKey(id));
                    Offer(id);
                }

                break;
            case RunFinalized f:
                // Local notice for features that react to finalized runs (packages rebuilt on ingest).
                Context.System.EventStream.Publish(new Jobs.RunFinalizedNotice(_runId, f.Generation));
                break;
            case RunCompleted c:
                _log.Info("ModelRun {ModelRunId}: complete (generation {Generation}, {Reason})", _runId, c.Generation, c.Reason);
                Timers.Cancel(QuietTimer);
                EmitFinalization();
                break;
        }

        // Counted in events (journal rows): replaying a batch of admissions (compact binary) costs about what reading
        // its files back from the (equally compact) snapshot costs, so only the row count bounds recovery. Counting
        // files snapshotted a run every two broker batches, and on SQLite each snapshot (and the delete of the one
        // before) is a write transaction that the journal's writes queue behind.
        // A finalized run also snapshots at once: it then rests in the journal as one snapshot, its events deleted.
        _sinceSnapshot++;
        if (_sinceSnapshot >= _settings.SnapshotEvery || e is RunFinalized)
        {
            _sinceSnapshot = 0;
            SaveSnapshot(_state);
        }
    }

    private void OnRecovered()
    {
        var redrive = 0;
        foreach (var f in _state.Files.Values)
        {
            if (f.NeedsWork)
            {
                Offer(f.Id.DataId);
                redrive++;
            }
            else if (f.Status == FileStatus.Waiting && f.RetryDueAt is { } due)
            {
                StartRetryTimer(f.Id, due);
            }
        }

        if (redrive > 0) _log.Info("ModelRun {ModelRunId}: recovered, re-issued {Files} unfinished files", _runId, redrive);
        Timers.StartPeriodicTimer(StallTimer, StallCheck.Instance, _settings.StallTimeout / 2);
        if (_state.AwaitsFinalization) EmitFinalization();
        CheckCompletion();
        ArmQuietTimer();
        Context.SetReceiveTimeout(_settings.IdleTimeout);
    }

    private void Offer(string dataId)
    {
        if (!_state.Files.TryGetValue(dataId, out var f)) return;
        var work = new FileWork(_runId, f.Id, f.Announcement, f.Variable, f.Step, f.Key, _state.Generation, f.Attempts, _rules.Fetch);
        if (_pending.Count == 0 && _ports.Intake.TryOffer(work))
        {
            _offeredAt[dataId] = Now;
            return;
        }

        _pending.Enqueue(work);
        if (!Timers.IsTimerActive(OfferTimer)) Timers.StartSingleTimer(OfferTimer, OfferPending.Instance, _settings.BackPressureRetry);
    }

    private void FlushPending()
    {
        while (_pending.TryPeek(out var work))
        {
            // Skip work that was overtaken (a newer version, a milestone, a refresh) while it waited.
            if (!_state.Files.TryGetValue(work.File.DataId, out var f) || f.Id != work.File || f.IsTerminal)
            {
                _pending.Dequeue();
                continue;
            }

            if (!_ports.Intake.TryOffer(work with { Generation = _state.Generation, Attempt = f.Attempts }))
            {
                Timers.StartSingleTimer(OfferTimer, OfferPending.Instance, _settings.BackPressureRetry);
                return;
            }

            _pending.Dequeue();
            _offeredAt[work.File.DataId] = Now;
        }
    }

    private void RedriveStalled()
    {
        var now = Now;
        foreach (var f in _state.Files.Values)
        {
            if (!f.NeedsWork || !_offeredAt.TryGetValue(f.Id.DataId, out var at) || now - at < _settings.StallTimeout) continue;
            _log.Warning("ModelRun {ModelRunId}: {DataId} shows no progress since {OfferedAt}, offering it again", _runId, f.Id.DataId, at);
            Offer(f.Id.DataId);
        }
    }

    private void OnRetryDue(RetryDue m)
    {
        if (_state.Files.TryGetValue(m.File.DataId, out var f) && f.Id == m.File && f.Status == FileStatus.Waiting)
            Offer(f.Id.DataId);
    }

    private void StartRetryTimer(FileId file, DateTimeOffset due)
    {
        var delay = due - Now;
        Timers.StartSingleTimer(RetryKey(file.DataId), new RetryDue(file), delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private static string RetryKey(string dataId) => "retry:" + dataId;

    private void CheckCompletion()
    {
        if (_completing) return;
        var due = _state.CompletionDue(_rules, Now);
        if (due is null) return;
        _completing = true;
        Persist(due, e =>
        {
            _completing = false;
            Applied(e);
        });
    }

    private void ArmQuietTimer()
    {
        if (_state.QuietPeriodEnds(_rules) is not { } end) return;
        var delay = end - Now;
        Timers.StartSingleTimer(QuietTimer, QuietPeriodOver.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private void EmitFinalization()
    {
        var files = _state.Files.Values.OrderBy(f => f.Id.DataId, StringComparer.Ordinal).ToArray();
        var request = new RunFinalization(_runId, _state.Generation, _state.CompletionReason ?? "", _state.CompletedAt ?? Now,
            files.Where(f => f.Status == FileStatus.Indexed).Select(ToFinalized).ToArray(),
            files.Where(f => f.Status == FileStatus.Failed).Select(ToFinalized).ToArray(),
            _dataset?.Options.Outputs ?? new OutputOptions());
        if (!_ports.Finalization.TryOffer(request))
            Timers.StartSingleTimer(FinalizeTimer, FinalizeAgain.Instance, _settings.BackPressureRetry);

        static FinalizedFile ToFinalized(FileEntry f) =>
            new(f.Id.DataId, f.Id.Checksum, f.Key, f.Variable, f.Step, f.Announcement.Location);
    }

    /// <summary>Work in flight, waiting, or a completion or finalization still to come.</summary>
    private bool Busy => _pending.Count > 0 || _completing || _state.AwaitsFinalization || _state.QuietPeriodEnds(_rules) is not null
                         || _state.Files.Values.Any(f => !f.IsTerminal);

    private void OnIdle()
    {
        if (Busy) return;
        _log.Debug("ModelRun {ModelRunId}: idle, passivating", _runId);
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    private sealed record RetryDue(FileId File);

    private sealed record OfferPending
    {
        public static readonly OfferPending Instance = new();
    }

    private sealed record FinalizeAgain
    {
        public static readonly FinalizeAgain Instance = new();
    }

    private sealed record StallCheck : INotInfluenceReceiveTimeout
    {
        public static readonly StallCheck Instance = new();
    }

    private sealed record QuietPeriodOver
    {
        public static readonly QuietPeriodOver Instance = new();
    }
}

/// <summary>The registry key of the ModelRun shard region (or of its local stand-in).</summary>
public sealed class ModelRunRegion;

/// <summary>Routes <see cref="IModelRunCommand"/> messages; the entity id is the run id string.</summary>
public sealed class ModelRunMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    /// <summary>Ten times the largest cluster we plan for.</summary>
    public const int ShardCount = 100;

    public override string? EntityId(object message) => message is IModelRunCommand m ? m.RunId.ToString() : null;
}

public static class ModelRunHostingExtensions
{
    public const string TypeName = "model-run";

    /// <summary>
    /// Adds the ModelRun entities: a shard region (never remember-entities: the set is unbounded) when
    /// <paramref name="clustered"/>, else a local region with the same routing and passivation for single-node
    /// runs and tests. The region is registered as <see cref="ModelRunRegion"/>. Without <paramref name="ports"/>,
    /// <see cref="IFileWorkIntake"/> and <see cref="IRunFinalizationSink"/> are taken from the service provider.
    /// </summary>
    public static AkkaConfigurationBuilder AddModelRunActor(this AkkaConfigurationBuilder builder, DatasetCatalog catalog,
        ModelRunSettings? settings = null, ModelRunPorts? ports = null, bool clustered = true)
    {
        settings ??= new ModelRunSettings();
        var extractor = new ModelRunMessageExtractor();

        Func<string, Props> Factory(IDependencyResolver resolver)
        {
            var p = ports ?? new ModelRunPorts(resolver.GetService<IFileWorkIntake>(), resolver.GetService<IRunFinalizationSink>());
            return id => ModelRunActor.Props(id, catalog, p, settings);
        }

        if (clustered)
        {
            return builder.WithShardRegion<ModelRunRegion>(TypeName, (_, _, resolver) => Factory(resolver), extractor,
                new ShardOptions { Role = settings.Role, RememberEntities = false, StateStoreMode = StateStoreMode.Persistence });
        }

        return builder.WithActors((system, registry, resolver) =>
            registry.Register<ModelRunRegion>(system.ActorOf(LocalEntityRegion.Props(extractor, Factory(resolver)), TypeName)));
    }
}
