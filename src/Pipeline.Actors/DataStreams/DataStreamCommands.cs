using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Actors.DataStreams;

/// <summary>
/// Admit announcements of one dataset: classified by the dataset's path rules, grouped per run, admitted by each
/// ModelRun. The reply, <see cref="AdmitAnnouncementsResult"/>, has one outcome per announcement in order; ack the
/// broker message for Admitted, Duplicate and Rejected, requeue it for Deferred.
/// </summary>
public sealed record AdmitAnnouncements(DatasetId DatasetId, IReadOnlyList<Announcement> Announcements) : IDataStreamCommand;

public sealed record AdmitAnnouncementsResult(DatasetId DatasetId, IReadOnlyList<AdmissionOutcome> Outcomes) : IPipelineMessage;

/// <summary>Stop admitting (announcements are answered Deferred, so the broker keeps them).</summary>
public sealed record PauseDataStream(DatasetId DatasetId, string Reason) : IDataStreamCommand;

public sealed record ResumeDataStream(DatasetId DatasetId) : IDataStreamCommand;

public sealed record GetDataStream(DatasetId DatasetId) : IDataStreamCommand;

/// <summary>Query: the runs this data stream has seen, newest first, at most <paramref name="Limit"/>.</summary>
public sealed record GetDataStreamRuns(DatasetId DatasetId, int Limit = 100) : IDataStreamCommand;

/// <summary>The runs a data stream has seen, newest first.</summary>
public sealed record DataStreamRuns(DatasetId DatasetId, IReadOnlyList<ModelRunId> Runs) : IWithDatasetId;

/// <summary>Refresh every known run whose reference time is in [From, To].</summary>
public sealed record RefreshWindow(DatasetId DatasetId, DateTimeOffset From, DateTimeOffset To, string Reason) : IDataStreamCommand;

public sealed record RefreshWindowAccepted(DatasetId DatasetId, IReadOnlyList<ModelRunId> Runs) : IPipelineMessage;

/// <summary>The state of a data stream.</summary>
/// <param name="AdmittedPerSecond">Admissions per second between the last two counter records.</param>
/// <param name="LagSeconds">Admission time minus announced publication time of the latest admitted file.</param>
public sealed record DataStreamStatus(
    DatasetId DatasetId,
    bool Paused,
    string? PauseReason,
    long Announced,
    long Admitted,
    long Duplicates,
    long Rejected,
    long Deferred,
    double AdmittedPerSecond,
    double? LagSeconds,
    DateTimeOffset? LastSeenAt,
    int KnownRuns) : IPipelineMessage;
