using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.DataStreams;

public interface IDataStreamEvent : IPipelineMessage
{
    DateTimeOffset At { get; }
}

public sealed record DataStreamPaused(string Reason, DateTimeOffset At) : IDataStreamEvent;

public sealed record DataStreamResumed(DateTimeOffset At) : IDataStreamEvent;

/// <summary>A run of this dataset was seen for the first time.</summary>
public sealed record RunSeen(ModelRunId RunId, DateTimeOffset At) : IDataStreamEvent;

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
