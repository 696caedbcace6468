using System.Collections.Frozen;
using System.Collections.Immutable;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.ModelRuns;

public enum FileStatus
{
    /// <summary>Admitted (or refreshed) and handed to the work intake; nothing heard back yet.</summary>
    Admitted,
    Fetched,
    Indexed,

    /// <summary>Waiting for another attempt (e.g. not there yet).</summary>
    Waiting,

    /// <summary>Failed for good.</summary>
    Failed,
}

/// <summary>One file of a run.</summary>
public sealed record FileEntry(
    FileId Id,
    Announcement Announcement,
    string? Variable,
    string? Step,
    string Key,
    FileStatus Status,
    int Attempts,
    DateTimeOffset AdmittedAt,
    DateTimeOffset? RetryDueAt,
    string? FailureReason)
{
    /// <summary>Nothing more will happen to it unless it is refreshed.</summary>
    public bool IsTerminal => Status is FileStatus.Indexed or FileStatus.Failed;

    /// <summary>It is in the processing graph (or must be put there again after a restart).</summary>
    public bool NeedsWork => Status is FileStatus.Admitted or FileStatus.Fetched;
}

/// <summary>The rules of the run's dataset the state needs (none when the dataset left the catalog).</summary>
public sealed record ModelRunRules(FetchOptions Fetch, CompletenessOptions Completeness, FrozenSet<string> ExpectedKeys)
{
    public static ModelRunRules Of(Dataset d) => new(d.Options.Fetch, d.Options.Completeness, d.ExpectedKeys);

    public static readonly ModelRunRules None = new(new FetchOptions(), new CompletenessOptions(), FrozenSet<string>.Empty);
}

/// <summary>
/// The state of one model run, and the run's logic as pure functions: <see cref="Handle"/> decides (reply and
/// events), <see cref="Apply"/> folds an event in. Neither reads the clock: <c>now</c> is an argument, and events
/// carry their time.
/// </summary>
public sealed record ModelRunState(
    ModelRunId RunId,
    ImmutableDictionary<string, FileEntry> Files,
    int Generation,
    int? CompletedGeneration,
    int? FinalizedGeneration,
    DateTimeOffset? LastAdmittedAt,
    DateTimeOffset? CompletedAt,
    string? CompletionReason) : IPipelineMessage
{
    public static ModelRunState Empty(ModelRunId id) =>
        new(id, ImmutableDictionary<string, FileEntry>.Empty.WithComparers(StringComparer.Ordinal), 0, null, null, null, null, null);

    /// <summary>Completed for the current generation, output confirmation still outstanding.</summary>
    public bool AwaitsFinalization => CompletedGeneration == Generation && FinalizedGeneration != Generation;

    public bool IsCompleteForGeneration => CompletedGeneration == Generation;

    public (object Reply, IReadOnlyList<IModelRunEvent> Events) Handle(object command, ModelRunRules rules, DateTimeOffset now) => command switch
    {
        AdmitFiles c => Admit(c, now),
        ReportFileFetched c => Milestone(c.File, e => e.Status is FileStatus.Admitted or FileStatus.Waiting
            ? new FileFetched(c.File, c.Bytes, now) : null),
        ReportFileIndexed c => Milestone(c.File, e => e.Status is not FileStatus.Indexed ? new FileIndexed(c.File, c.Fields, now) : null),
        ReportFileFailed c => Milestone(c.File, e => Failure(e, c, rules, now)),
        RefreshFile c => Files.ContainsKey(c.DataId)
            ? (new RefreshAccepted(RunId, Generation + 1, 1), [new RunRefreshed(Generation + 1, [c.DataId], c.Reason, now)])
            : (new RefreshRejected(RunId, $"run {RunId} has no file '{c.DataId}'"), []),
        RefreshRun c => Files.Count > 0
            ? (new RefreshAccepted(RunId, Generation + 1, Files.Count),
                [new RunRefreshed(Generation + 1, Files.Keys.Order(StringComparer.Ordinal).ToArray(), c.Reason, now)])
            : (new RefreshRejected(RunId, $"run {RunId} has no files"), []),
        ConfirmRunFinalized c => c.Generation == CompletedGeneration && FinalizedGeneration != c.Generation
            ? (new FinalizationAck(RunId, c.Generation, true), [new RunFinalized(c.Generation, now)])
            : (new FinalizationAck(RunId, c.Generation, false), []),
        GetModelRun => (View(), []),
        ReplayAnnouncements => (new AnnouncementsReplayed(RunId,
            Files.Values.OrderBy(f => f.AdmittedAt).ThenBy(f => f.Id.DataId, StringComparer.Ordinal).Select(f => f.Announcement).ToArray()), []),
        _ => throw new ArgumentException($"ModelRun {RunId} has no handler for {command.GetType().Name}", nameof(command)),
    };

    private (object, IReadOnlyList<IModelRunEvent>) Admit(AdmitFiles c, DateTimeOffset now)
    {
        var outcomes = new AdmissionOutcome[c.Items.Count];
        List<AdmittedFile>? admitted = null;
        Dictionary<string, FileId>? batch = null;
        for (var i = 0; i < c.Items.Count; i++)
        {
            var item = c.Items[i];
            var a = item.Announcement;
            if (c.RunId != RunId)
            {
                outcomes[i] = new AdmissionOutcome(a.DataId, AdmissionVerdict.Rejected, $"sent to run {RunId} but addressed to {c.RunId}");
                continue;
            }

            if (string.IsNullOrWhiteSpace(a.DataId))
            {
                outcomes[i] = new AdmissionOutcome(a.DataId, AdmissionVerdict.Rejected, "the announcement has no data id");
                continue;
            }

            var id = FileId.Of(a);
            var known = batch is not null && batch.TryGetValue(a.DataId, out var b) ? b
                : Files.TryGetValue(a.DataId, out var e) ? e.Id : null;
            if (known == id)
            {
                outcomes[i] = new AdmissionOutcome(a.DataId, AdmissionVerdict.Duplicate);
                continue;
            }

            (batch ??= new Dictionary<string, FileId>(StringComparer.Ordinal))[a.DataId] = id;
            (admitted ??= new List<AdmittedFile>(c.Items.Count - i)).Add(new AdmittedFile(id, a, item.Variable, item.Step, item.Key));
            outcomes[i] = new AdmissionOutcome(a.DataId, AdmissionVerdict.Admitted);
        }

        // One event for the whole batch: one journal row, whatever the batch size.
        return (new AdmitFilesResult(RunId, outcomes), admitted is null ? [] : [new FilesAdmitted(admitted, now)]);
    }

    private (object, IReadOnlyList<IModelRunEvent>) Milestone(FileId file, Func<FileEntry, IModelRunEvent?> decide)
    {
        if (!Files.TryGetValue(file.DataId, out var entry) || entry.Id != file) return (new MilestoneAck(RunId, file, false), []);
        var e = decide(entry);
        return e is null ? (new MilestoneAck(RunId, file, false), []) : (new MilestoneAck(RunId, file, true), [e]);
    }

    private static IModelRunEvent? Failure(FileEntry e, ReportFileFailed c, ModelRunRules rules, DateTimeOffset now)
    {
        if (e.IsTerminal) return null;
        var attempt = e.Attempts + 1;
        return c.Retryable && attempt < rules.Fetch.MaxAttempts
            ? new FileRetryScheduled(c.File, attempt, now + rules.Fetch.RetryDelay, c.Reason, now)
            : new FileFailed(c.File, attempt, c.Reason, now);
    }

    /// <summary>
    /// The completion event that is due now, if any: every file terminal and the dataset's rule met (all expected
    /// keys indexed, the expected count indexed, or the quiet period over), once per generation.
    /// </summary>
    public RunCompleted? CompletionDue(ModelRunRules rules, DateTimeOffset now)
    {
        if (CompletedGeneration == Generation || Files.IsEmpty) return null;
        var indexed = 0;
        foreach (var f in Files.Values)
        {
            if (!f.IsTerminal) return null;
            if (f.Status == FileStatus.Indexed) indexed++;
        }

        var c = rules.Completeness;
        var failed = Files.Count - indexed; // every file is terminal here
        if (rules.ExpectedKeys.Count > 0 &&
            rules.ExpectedKeys.All(k => Files.Values.Any(f => f.Status == FileStatus.Indexed && f.Key == k)))
            return new RunCompleted(Generation, "expected-files", now);
        if (rules.ExpectedKeys.Count > 0 && c.CompleteWithFailures && rules.ExpectedKeys.All(k => Files.Values.Any(f => f.Key == k)))
            return new RunCompleted(Generation, $"expected-files-with-failures ({failed} failed)", now);
        if (c.ExpectedCount is { } n && indexed >= n) return new RunCompleted(Generation, "expected-count", now);
        if (c.ExpectedCount is { } m && c.CompleteWithFailures && Files.Count >= m)
            return new RunCompleted(Generation, $"expected-count-with-failures ({failed} failed)", now);
        if (c.QuietPeriod is { } q && LastAdmittedAt is { } last && now - last >= q) return new RunCompleted(Generation, "quiet-period", now);
        if (CompletedGeneration is not null) return new RunCompleted(Generation, "refreshed", now);
        return null;
    }

    /// <summary>When the quiet period ends (to arm the timer), if the rule applies and the run is not complete.</summary>
    public DateTimeOffset? QuietPeriodEnds(ModelRunRules rules) =>
        rules.Completeness.QuietPeriod is { } q && LastAdmittedAt is { } last && CompletedGeneration != Generation ? last + q : null;

    public ModelRunState Apply(IModelRunEvent e) => e switch
    {
        FileAdmitted a => Admitted([new AdmittedFile(a.File, a.Announcement, a.Variable, a.Step, a.Key)], a.At),
        FilesAdmitted a => Admitted(a.Files, a.At),
        FileFetched f => Update(f.File, x => x with { Status = FileStatus.Fetched }),
        FileIndexed f => Update(f.File, x => x with { Status = FileStatus.Indexed, RetryDueAt = null, FailureReason = null }),
        FileRetryScheduled r => Update(r.File, x => x with
        {
            Status = FileStatus.Waiting, Attempts = r.Attempt, RetryDueAt = r.DueAt, FailureReason = r.Reason,
        }),
        FileFailed f => Update(f.File, x => x with { Status = FileStatus.Failed, Attempts = f.Attempts, RetryDueAt = null, FailureReason = f.Reason }),
        RunRefreshed r => this with
        {
            Generation = r.Generation,
            Files = r.DataIds.Aggregate(Files, (files, id) => files.TryGetValue(id, out var x)
                ? files.SetItem(id, x with { Status = FileStatus.Admitted, Attempts = 0, RetryDueAt = null, FailureReason = null })
                : files),
        },
        RunCompleted c => this with { CompletedGeneration = c.Generation, CompletedAt = c.At, CompletionReason = c.Reason },
        RunFinalized f => this with { FinalizedGeneration = f.Generation },
        _ => throw new ArgumentException($"ModelRun {RunId} cannot apply {e.GetType().Name}", nameof(e)),
    };

    private ModelRunState Admitted(IReadOnlyList<AdmittedFile> admitted, DateTimeOffset at)
    {
        if (admitted.Count == 0) return this;
        var files = Files.ToBuilder();
        foreach (var a in admitted)
            files[a.File.DataId] = new FileEntry(a.File, a.Announcement, a.Variable, a.Step, a.Key, FileStatus.Admitted, 0, at, null, null);
        return this with
        {
            Files = files.ToImmutable(),
            LastAdmittedAt = at,
            // A new file or a new version after completion reopens the run: it is finalized again (one generation
            // for the whole batch, as the per-file events did: only the first of them found the run complete).
            Generation = CompletedGeneration == Generation ? Generation + 1 : Generation,
        };
    }

    private ModelRunState Update(FileId id, Func<FileEntry, FileEntry> change) =>
        Files.TryGetValue(id.DataId, out var x) && x.Id == id ? this with { Files = Files.SetItem(id.DataId, change(x)) } : this;

    public ModelRunView View()
    {
        int admitted = 0, fetched = 0, indexed = 0, waiting = 0, failed = 0;
        foreach (var f in Files.Values)
        {
            switch (f.Status)
            {
                case FileStatus.Admitted: admitted++; break;
                case FileStatus.Fetched: fetched++; break;
                case FileStatus.Indexed: indexed++; break;
                case FileStatus.Waiting: waiting++; break;
                case FileStatus.Failed: failed++; break;
            }
        }

        return new ModelRunView(RunId, Generation, CompletedGeneration, FinalizedGeneration, admitted, fetched, indexed, waiting, failed,
            LastAdmittedAt, CompletedAt,
            Files.Values.OrderBy(f => f.Id.DataId, StringComparer.Ordinal)
                .Select(f => new FileView(f.Id.DataId, f.Id.Checksum, f.Key, f.Status, f.Attempts, f.FailureReason)).ToArray());
    }
}
