using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.DataStreams;

public interface IDataStreamEvent : IPipelineMessage
{
    DateTimeOffset At { get; }
}

public sealed record DataStreamPaused(string Reason, DateTimeOffset At) : IDataStreamEvent;

public sealed record DataStreamResumed(DateTimeOffset At) : IDataStreamEvent;

/// <summary>A run of this dataset was seen for the first time (journals written before <see cref="RunsSeen"/>; still read, no longer written).</summary>
public sealed record RunSeen(ModelRunId RunId, DateTimeOffset At) : IDataStreamEvent;

/// <summary>The runs of one admission batch seen for the first time: one event, one journal row, per batch.</summary>
public sealed record RunsSeen(IReadOnlyList<ModelRunId> RunIds, DateTimeOffset At) : IDataStreamEvent;

/// <summary>The counters as of <paramref name="At"/> (absolute values, recorded periodically, not per announcement).</summary>
public sealed record CountersRecorded(
    long Announced,
    long Admitted,
    long Duplicates,
    long Rejected,
    long Deferred,
    double AdmittedPerSecond,
    double? LagSeconds,
    DateTimeOffset? LastSeenAt,
    DateTimeOffset At) : IDataStreamEvent;
