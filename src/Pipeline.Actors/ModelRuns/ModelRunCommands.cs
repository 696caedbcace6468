using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.ModelRuns;

/// <summary>One announcement to admit, with what the dataset's path rules said about it.</summary>
public sealed record AdmissionRequest(Announcement Announcement, string? Variable, string? Step, string Key);

/// <summary>
/// Admit a batch of announcements of one run. All admissions are persisted in one <c>PersistAll</c>; the reply,
/// <see cref="AdmitFilesResult"/>, is sent only after they are written: only then may the broker message be acked.
/// </summary>
public sealed record AdmitFiles(ModelRunId RunId, IReadOnlyList<AdmissionRequest> Items) : IModelRunCommand;

/// <summary>The streams side reports that a file was downloaded.</summary>
public sealed record ReportFileFetched(ModelRunId RunId, FileId File, long Bytes) : IModelRunCommand;

/// <summary>The streams side reports that a file was decoded, written and indexed.</summary>
public sealed record ReportFileIndexed(ModelRunId RunId, FileId File, int Fields) : IModelRunCommand;

/// <summary>
/// The streams side reports a failure. <paramref name="Retryable"/> (e.g. a 404 while the file is not there yet)
/// schedules another attempt after the dataset's retry delay, up to its attempt limit; otherwise it fails for good.
/// </summary>
public sealed record ReportFileFailed(ModelRunId RunId, FileId File, string Reason, bool Retryable) : IModelRunCommand;

/// <summary>Re-fetch and rebuild one file (by data id), whatever its state.</summary>
public sealed record RefreshFile(ModelRunId RunId, string DataId, string Reason) : IModelRunCommand;

/// <summary>Re-fetch and rebuild every file of the run, then finalize it again.</summary>
public sealed record RefreshRun(ModelRunId RunId, string Reason) : IModelRunCommand;

/// <summary>The output side reports that the run-level outputs of <paramref name="Generation"/> are written.</summary>
public sealed record ConfirmRunFinalized(ModelRunId RunId, int Generation) : IModelRunCommand;

/// <summary>Query: the run's state.</summary>
public sealed record GetModelRun(ModelRunId RunId) : IModelRunCommand;

/// <summary>Query: every admitted announcement of the run, as recorded in the journal (for replay or re-posting).</summary>
public sealed record ReplayAnnouncements(ModelRunId RunId) : IModelRunCommand;

/// <summary>
/// Starts (recovers) the entity if it is not running, so that it re-drives its unfinished files and finalization.
/// Sent by the DataStream to its recent runs after it recovers, and periodically to the runs it knows to be
/// unsettled (ModelRuns are not remembered entities: after their node dies, nothing else would restart them).
/// Answered with <see cref="ModelRunWoken"/> when sent with a sender.
/// </summary>
public sealed record WakeModelRun(ModelRunId RunId) : IModelRunCommand;
