using Pipeline.Actors.Persistence;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Sharding;

namespace Pipeline.Actors.DataStreams;

/// <summary>DataStream tuning.</summary>
public sealed record DataStreamSettings
{
    /// <summary>How long admission waits for the ModelRuns before answering Deferred.</summary>
    public TimeSpan AdmissionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the counters are recorded (persisted) when they changed.</summary>
    public TimeSpan CounterInterval { get; init; } = TimeSpan.FromSeconds(5);

    public int SnapshotEvery { get; init; } = 200;

    /// <summary>
    /// After it recovers, the data stream wakes its runs with a reference time this recent (at most
    /// <see cref="MaxRunsToWake"/>), so each recovers and re-drives what it admitted but never finished.
    /// </summary>
    public TimeSpan WakeRunsWithin { get; init; } = TimeSpan.FromDays(14);

    public int MaxRunsToWake { get; init; } = 200;

    /// <summary>
    /// How often the runs this data stream admitted into (or woke after recovering) are woken again until each
    /// answers that it is settled: a run whose node died has no one else to restart it and re-drive its files.
    /// </summary>
    public TimeSpan WakeOpenRunsEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The shard region's role in a cluster; null for every node.</summary>
    public string? Role { get; init; }
}

/// <summary>
/// One configured dataset: paused or running, counters, rate, lag, last seen, the runs seen. Classifies
/// announcements with the dataset's path rules and routes them, grouped per run, to the ModelRun region; one batch
/// does not wait for the next (the ModelRun answers are awaited off the actor).
/// </summary>
public sealed class DataStreamActor : CompactingPersistentActor, IWithTimers
{
    private const string CounterTimer = "counters";
    private const string WakeTimer = "wake-open-runs";

    private readonly DatasetId _id;
    private readonly Dataset? _dataset;
    private readonly IActorRef _modelRuns;
    private readonly DataStreamSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private DataStreamState _state;
    private int _sinceSnapshot;

    // Runs that may still have work, with the wakes sent since they were last admitted into (not persisted: after a
    // recovery every recent run is woken and answers). A "settled" answer counts only if a wake went out after the
    // last admission: an answer to an older wake may predate it.
    private readonly Dictionary<ModelRunId, int> _openRuns = [];

    // Runs whose RunsSeen is being written (not in the state until it is), with that write: not recorded twice
    // meanwhile, and a later batch into one of them waits for the write too.
    private readonly Dictionary<ModelRunId, Task> _recordingRuns = [];

    public DataStreamActor(string entityId, DatasetCatalog catalog, IActorRef modelRuns, DataStreamSettings settings, TimeProvider? clock = null)
    {
        _id = new DatasetId(entityId);
        PersistenceId = "data-stream-" + entityId;
        _dataset = catalog.TryGet(_id, out var d) ? d : null;
        _modelRuns = modelRuns;
        _settings = settings;
        _clock = clock ?? TimeProvider.System;
        _state = DataStreamState.Empty(_id);

        Recover<SnapshotOffer>(o =>
        {
            if (o.Snapshot is DataStreamState s) _state = s;
        });
        Recover<IDataStreamEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            Timers.StartPeriodicTimer(CounterTimer, RecordCountersTick.Instance, _settings.CounterInterval);
            DataStreamMetrics.Publish(_state.Status());
            var since = Now - _settings.WakeRunsWithin;
            foreach (var t in _state.Runs.Reverse().TakeWhile(t => t >= since).Take(_settings.MaxRunsToWake))
            {
                var run = new ModelRunId(_id, t);
                _openRuns[run] = 1;
                _modelRuns.Tell(new WakeModelRun(run), Self);
            }

            Timers.StartPeriodicTimer(WakeTimer, WakeOpenRunsTick.Instance, _settings.WakeOpenRunsEvery);
        });

        Command<AdmitAnnouncements>(Admit);
        Command<AdmissionTally>(t =>
        {
            _state = _state.Count(t);
            DataStreamMetrics.Publish(_state.Status());
        });
        Command<RunsAdmittedInto>(r =>
        {
            foreach (var run in r.Runs) _openRuns[run] = 0;
        });
        Command<WakeOpenRunsTick>(_ =>
        {
            foreach (var run in _openRuns.Keys.ToArray())
            {
                _openRuns[run]++;
                _modelRuns.Tell(new WakeModelRun(run), Self);
            }
        });
        Command<ModelRunWoken>(w =>
        {
            if (w.Settled && _openRuns.TryGetValue(w.RunId, out var wakes) && wakes > 0) _openRuns.Remove(w.RunId);
        });
        Command<RecordCountersTick>(_ =>
        {
            if (_state.RecordCounters(Now) is { } rec) Persist<IDataStreamEvent>(rec, Applied);
        });
        Command<RefreshWindow>(r =>
        {
            var runs = _state.RunsBetween(r.From, r.To);
            foreach (var run in runs) _modelRuns.Tell(new RefreshRun(run, r.Reason));
            _log.Info("DataStream {DatasetId}: refreshing {Runs} runs between {From} and {To}", _id, runs.Count, r.From, r.To);
            Sender.Tell(new RefreshWindowAccepted(_id, runs));
        });
        Command<IDataStreamCommand>(c =>
        {
            var (reply, events) = _state.Handle(c, Now);
            if (events.Count == 0)
            {
                Sender.Tell(reply);
                return;
            }

            var sender = Sender;
            PersistAll(events, PersistBatch.ThenAfterLast<IDataStreamEvent>(events.Count, Applied, () => sender.Tell(reply)));
        });
        CompactAfterSnapshots("DataStream " + _id, _log);
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string entityId, DatasetCatalog catalog, IActorRef modelRuns, DataStreamSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new DataStreamActor(entityId, catalog, modelRuns, settings, clock));

    private DateTimeOffset Now => _clock.GetUtcNow();

    protected override void PostStop()
    {
        DataStreamMetrics.Withdraw(_id.Value);
        base.PostStop();
    }

    private void Applied(IDataStreamEvent e)
    {
        _state = _state.Apply(e);
        DataStreamMetrics.Publish(_state.Status());
        if (e is DataStreamPaused p) _log.Info("DataStream {DatasetId}: paused ({Reason})", _id, p.Reason);
        if (e is DataStreamResumed) _log.Info("DataStream {DatasetId}: resumed", _id);
        if (++_sinceSnapshot < _settings.SnapshotEvery) return;
        _sinceSnapshot = 0;
        SaveSnapshot(_state);
    }

    private void Admit(AdmitAnnouncements c)
    {
        var batch = c.Announcements;
        var outcomes = new AdmissionOutcome[batch.Count];
        if (_dataset is null || _state.Paused)
        {
            var (verdict, reason) = _dataset is null
                ? (AdmissionVerdict.Rejected, $"dataset '{_id}' is not in the catalog")
                : (AdmissionVerdict.Deferred, $"dataset '{_id}' is paused: {_state.PauseReason}");
            for (var i = 0; i < batch.Count; i++) outcomes[i] = new AdmissionOutcome(batch[i].DataId, verdict, reason);
            Sender.Tell(new AdmitAnnouncementsResult(_id, outcomes));
            Self.Tell(AdmissionTally.Of(batch, outcomes, Now));
            return;
        }

        var groups = new Dictionary<ModelRunId, (List<AdmissionRequest> Items, List<int> Positions)>();
        for (var i = 0; i < batch.Count; i++)
        {
            var a = batch[i];
            var r = _dataset.Classify(a.RelPath);
            if (r.File is not { } f)
            {
                outcomes[i] = new AdmissionOutcome(a.DataId, AdmissionVerdict.Rejected, r.Error);
                continue;
            }

            if (!groups.TryGetValue(f.RunId, out var g)) groups[f.RunId] = g = ([], []);
            g.Items.Add(new AdmissionRequest(a, f.Variable, f.Step, f.Key));
            g.Positions.Add(i);
        }

        var sender = Sender;
        var pending = groups.Keys.Where(_recordingRuns.ContainsKey).Select(r => _recordingRuns[r]).Distinct().ToList();
        var newRuns = _state.NewRuns(groups.Keys.Where(r => !_recordingRuns.ContainsKey(r)), Now);
        if (newRuns.Count > 0)
        {
            // The new runs are recorded without holding up admission (PersistAllAsync does not stash the next batches:
            // a data stream is one actor for its whole feed). The batch is routed at once and its answer also waits
            // for this write, so the run of an acked announcement is always one the stream wakes after a crash.
            var fresh = newRuns.OfType<RunsSeen>().SelectMany(r => r.RunIds).ToArray();
            var recorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            foreach (var run in fresh) _recordingRuns[run] = recorded.Task;
            PersistAllAsync(newRuns, PersistBatch.ThenAfterLast<IDataStreamEvent>(newRuns.Count, Applied, () =>
            {
                foreach (var run in fresh) _recordingRuns.Remove(run);
                recorded.TrySetResult();
            }));
            pending.Add(recorded.Task);
        }

        Route(batch, outcomes, groups, sender, pending.Count == 0 ? Task.CompletedTask : Task.WhenAll(pending));
    }

    private void Route(IReadOnlyList<Announcement> batch, AdmissionOutcome[] outcomes,
        Dictionary<ModelRunId, (List<AdmissionRequest> Items, List<int> Positions)> groups, IActorRef sender, Task runsRecorded)
    {
        var self = Self;
        var modelRuns = _modelRuns;
        var timeout = _settings.AdmissionTimeout;
        var clock = _clock;
        var id = _id;
        _ = RouteAsync();

        async Task RouteAsync()
        {
            await Task.WhenAll(groups.Select(async g =>
            {
                try
                {
                    var result = await modelRuns.Ask<AdmitFilesResult>(new AdmitFiles(g.Key, g.Value.Items), timeout).ConfigureAwait(false);
                    for (var j = 0; j < g.Value.Positions.Count; j++) outcomes[g.Value.Positions[j]] = result.Outcomes[j];
                }
                catch (Exception e)
                {
                    foreach (var p in g.Value.Positions)
                        outcomes[p] = new AdmissionOutcome(batch[p].DataId, AdmissionVerdict.Deferred, $"run {g.Key} did not answer: {e.Message}");
                }
            })).ConfigureAwait(false);
            try
            {
                await runsRecorded.WaitAsync(timeout).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Admitted by the runs, but the stream could not record them: the broker keeps the messages and
                // redelivers them (the runs then answer Duplicate, and the stream records the runs again).
                for (var i = 0; i < outcomes.Length; i++)
                    if (outcomes[i].Verdict == AdmissionVerdict.Admitted)
                        outcomes[i] = new AdmissionOutcome(batch[i].DataId, AdmissionVerdict.Deferred, $"the new runs were not recorded: {e.Message}");
            }

            sender.Tell(new AdmitAnnouncementsResult(id, outcomes));
            self.Tell(AdmissionTally.Of(batch, outcomes, clock.GetUtcNow()));
            self.Tell(new RunsAdmittedInto(groups.Keys.ToArray()));
        }
    }

    /// <summary>Runs an admission batch went to: they are open until they answer a wake as settled.</summary>
    private sealed record RunsAdmittedInto(IReadOnlyList<ModelRunId> Runs);

    private sealed record WakeOpenRunsTick
    {
        public static readonly WakeOpenRunsTick Instance = new();
    }

    private sealed record RecordCountersTick
    {
        public static readonly RecordCountersTick Instance = new();
    }
}

/// <summary>The registry key of the DataStream shard region (or of its local stand-in).</summary>
public sealed class DataStreamRegion;

/// <summary>Routes <see cref="IDataStreamCommand"/> messages; the entity id is the dataset id.</summary>
public sealed class DataStreamMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    /// <summary>Data streams are few; a small count keeps them spread without empty shards.</summary>
    public const int ShardCount = 20;

    public override string? EntityId(object message) => message is IDataStreamCommand m ? m.DatasetId.Value : null;
}

public static class DataStreamHostingExtensions
{
    public const string TypeName = "data-stream";

    /// <summary>
    /// Adds the DataStream entities: a shard region with remember-entities (a bounded, always-on set) when
    /// <paramref name="clustered"/>, else a local region. Needs <see cref="ModelRunRegion"/> (add the ModelRun actor
    /// too). Registered as <see cref="DataStreamRegion"/>.
    /// </summary>
    public static AkkaConfigurationBuilder AddDataStreamActor(this AkkaConfigurationBuilder builder, DatasetCatalog catalog,
        DataStreamSettings? settings = null, bool clustered = true)
    {
        settings ??= new DataStreamSettings();
        var extractor = new DataStreamMessageExtractor();

        Func<string, Props> Factory(IActorRegistry registry) =>
            id => DataStreamActor.Props(id, catalog, registry.Get<ModelRunRegion>(), settings);

        if (clustered)
        {
            return builder.WithShardRegion<DataStreamRegion>(TypeName, (_, registry, _) => Factory(registry), extractor,
                new ShardOptions
                {
                    Role = settings.Role,
                    RememberEntities = true,
                    RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
                    StateStoreMode = StateStoreMode.Persistence,
                });
        }

        return builder.WithActors((system, registry) =>
            registry.Register<DataStreamRegion>(system.ActorOf(LocalEntityRegion.Props(extractor, Factory(registry)), TypeName)));
    }
}
