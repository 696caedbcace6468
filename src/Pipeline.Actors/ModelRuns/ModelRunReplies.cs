using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.ModelRuns;

public enum AdmissionVerdict
{
    /// <summary>Persisted: the entity owns the file now; ack the broker message.</summary>
    Admitted,

    /// <summary>The same data id with the same checksum was admitted before; ack and drop.</summary>
    Duplicate,

    /// <summary>Not admissible (reason given); ack and dead-letter.</summary>
    Rejected,

    /// <summary>Not decided (the data stream is paused, or the run did not answer in time): do not ack, requeue.</summary>
    Deferred,
}

/// <summary>The verdict on one announcement, in the order of the request.</summary>
public sealed record AdmissionOutcome(string DataId, AdmissionVerdict Verdict, string? Reason = null);

public sealed record AdmitFilesResult(ModelRunId RunId, IReadOnlyList<AdmissionOutcome> Outcomes) : IPipelineMessage;

/// <summary>The answer to a milestone report: <paramref name="Recorded"/> is false for a stale or repeated report.</summary>
public sealed record MilestoneAck(ModelRunId RunId, FileId File, bool Recorded) : IPipelineMessage;

public sealed record RefreshAccepted(ModelRunId RunId, int Generation, int Files) : IPipelineMessage;

public sealed record RefreshRejected(ModelRunId RunId, string Reason) : IPipelineMessage;

public sealed record FinalizationAck(ModelRunId RunId, int Generation, bool Recorded) : IPipelineMessage;

/// <summary>One file as the run sees it.</summary>
public sealed record FileView(string DataId, string Checksum, string Key, FileStatus Status, int Attempts, string? FailureReason);

/// <summary>The state of one run.</summary>
public sealed record ModelRunView(
    ModelRunId RunId,
    int Generation,
    int? CompletedGeneration,
    int? FinalizedGeneration,
    int Admitted,
    int Fetched,
    int Indexed,
    int Waiting,
    int Failed,
    DateTimeOffset? LastAdmittedAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<FileView> Files) : IPipelineMessage;

public sealed record AnnouncementsReplayed(ModelRunId RunId, IReadOnlyList<Announcement> Announcements) : IPipelineMessage;

/// <summary>
/// The answer to <see cref="WakeModelRun"/>: <paramref name="Settled"/> when nothing is left to do (every file
/// indexed or failed for good, the run finalized or not yet complete by its rule with no quiet period pending).
/// </summary>
public sealed record ModelRunWoken(ModelRunId RunId, bool Settled) : IPipelineMessage;
