using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.ModelRuns;

/// <summary>An event in a ModelRun journal. Every value replay needs is in the event, timestamps included.</summary>
public interface IModelRunEvent : IPipelineMessage
{
    DateTimeOffset At { get; }
}

/// <summary>
/// One announcement admitted (the per-file event of journals written before <see cref="FilesAdmitted"/>; still read
/// on recovery, no longer written).
/// </summary>
public sealed record FileAdmitted(FileId File, Announcement Announcement, string? Variable, string? Step, string Key, DateTimeOffset At)
    : IModelRunEvent;

/// <summary>One file of a <see cref="FilesAdmitted"/> batch: the run owns this version of it (this is also the announcement record).</summary>
public sealed record AdmittedFile(FileId File, Announcement Announcement, string? Variable, string? Step, string Key);

/// <summary>
/// The announcements of one <see cref="AdmitFiles"/> command that were admitted, in order: one journal row per
/// batch, so admission costs one small write per broker batch instead of one row per file.
/// </summary>
public sealed record FilesAdmitted(IReadOnlyList<AdmittedFile> Files, DateTimeOffset At) : IModelRunEvent;

public sealed record FileFetched(FileId File, long Bytes, DateTimeOffset At) : IModelRunEvent;

public sealed record FileIndexed(FileId File, int Fields, DateTimeOffset At) : IModelRunEvent;

/// <summary>Not there yet (or another retryable failure): try again at <paramref name="DueAt"/>.</summary>
public sealed record FileRetryScheduled(FileId File, int Attempt, DateTimeOffset DueAt, string Reason, DateTimeOffset At) : IModelRunEvent;

/// <summary>Failed for good after <paramref name="Attempts"/> attempts.</summary>
public sealed record FileFailed(FileId File, int Attempts, string Reason, DateTimeOffset At) : IModelRunEvent;

/// <summary>These files are to be fetched and built again; the run is finalized again afterwards.</summary>
public sealed record RunRefreshed(int Generation, IReadOnlyList<string> DataIds, string Reason, DateTimeOffset At) : IModelRunEvent;

/// <summary>The run is complete for <paramref name="Generation"/>; a finalization request is emitted.</summary>
public sealed record RunCompleted(int Generation, string Reason, DateTimeOffset At) : IModelRunEvent;

/// <summary>The output side confirmed the run-level outputs of <paramref name="Generation"/>.</summary>
public sealed record RunFinalized(int Generation, DateTimeOffset At) : IModelRunEvent;
