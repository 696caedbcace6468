using System.Collections.Immutable;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Actors.DataStreams;

/// <summary>The outcome counts of one admission batch, folded into the live counters.</summary>
public readonly record struct AdmissionTally(int Announced, int Admitted, int Duplicates, int Rejected, int Deferred, DateTimeOffset? LatestPublished, DateTimeOffset At)
{
    public static AdmissionTally Of(IReadOnlyList<Announcement> batch, IReadOnlyList<AdmissionOutcome> outcomes, DateTimeOffset at)
    {
        int admitted = 0, duplicates = 0, rejected = 0, deferred = 0;
        DateTimeOffset? latest = null;
        for (var i = 0; i < outcomes.Count; i++)
        {
            switch (outcomes[i].Verdict)
            {
                case AdmissionVerdict.Admitted:
                    admitted++;
                    if (latest is null || batch[i].PublishedAt > latest) latest = batch[i].PublishedAt;
                    break;
                case AdmissionVerdict.Duplicate: duplicates++; break;
                case AdmissionVerdict.Rejected: rejected++; break;
                default: deferred++; break;
            }
        }

        return new AdmissionTally(outcomes.Count, admitted, duplicates, rejected, deferred, latest, at);
    }
}

/// <summary>
/// A data stream's state. Persisted: paused or running, the runs seen (bounded), the last counter record.
/// Live counters move with <see cref="Count"/> (not persisted per batch) and are recorded by <see cref="RecordCounters"/>.
/// </summary>
public sealed record DataStreamState(
    DatasetId DatasetId,
    bool Paused,
    string? PauseReason,
    ImmutableSortedSet<DateTimeOffset> Runs,
    CountersRecorded Recorded,
    CountersRecorded Live) : IPipelineMessage
{
    /// <summary>The most runs remembered for window refreshes; older ones are forgotten first.</summary>
    public const int MaxRuns = 5000;

    public static DataStreamState Empty(DatasetId id)
    {
        var zero = new CountersRecorded(0, 0, 0, 0, 0, 0, null, null, DateTimeOffset.MinValue);
        return new DataStreamState(id, false, null, ImmutableSortedSet<DateTimeOffset>.Empty, zero, zero);
    }

    public DataStreamStatus Status() => new(DatasetId, Paused, PauseReason, Live.Announced, Live.Admitted, Live.Duplicates, Live.Rejected,
        Live.Deferred, Recorded.AdmittedPerSecond, Live.LagSeconds, Live.LastSeenAt, Runs.Count);

    public (object Reply, IReadOnlyList<IDataStreamEvent> Events) Handle(object command, DateTimeOffset now) => command switch
    {
        PauseDataStream p => Paused ? (Status(), []) : (Status() with { Paused = true, PauseReason = p.Reason }, [new DataStreamPaused(p.Reason, now)]),
        ResumeDataStream => Paused ? (Status() with { Paused = false, PauseReason = null }, [new DataStreamResumed(now)]) : (Status(), []),
        GetDataStream => (Status(), []),
        GetDataStreamRuns q => (new DataStreamRuns(DatasetId,
            Runs.Reverse().Take(Math.Max(0, q.Limit)).Select(t => new ModelRunId(DatasetId, t)).ToArray()), []),
        _ => throw new ArgumentException($"DataStream {DatasetId} has no handler for {command.GetType().Name}", nameof(command)),
    };

    /// <summary>One <see cref="RunsSeen"/> event for the runs not seen before, or none.</summary>
    public IReadOnlyList<IDataStreamEvent> NewRuns(IEnumerable<ModelRunId> runs, DateTimeOffset now)
    {
        var fresh = runs.Where(r => !Runs.Contains(r.ReferenceTime)).Distinct().OrderBy(r => r.ReferenceTime).ToArray();
        return fresh.Length == 0 ? [] : [new RunsSeen(fresh, now)];
    }

    public IReadOnlyList<ModelRunId> RunsBetween(DateTimeOffset from, DateTimeOffset to) =>
        Runs.Where(t => t >= from && t <= to).Select(t => new ModelRunId(DatasetId, t)).ToArray();

    /// <summary>Folds one admission batch into the live counters (not an event: counters are recorded periodically).</summary>
    public DataStreamState Count(AdmissionTally t) => this with
    {
        Live = Live with
        {
            Announced = Live.Announced + t.Announced,
            Admitted = Live.Admitted + t.Admitted,
            Duplicates = Live.Duplicates + t.Duplicates,
            Rejected = Live.Rejected + t.Rejected,
            Deferred = Live.Deferred + t.Deferred,
            LastSeenAt = t.At,
            LagSeconds = t.LatestPublished is { } p ? (t.At - p).TotalSeconds : Live.LagSeconds,
        },
    };

    /// <summary>The record of the live counters, with the admission rate since the last record; null when nothing changed.</summary>
    public CountersRecorded? RecordCounters(DateTimeOffset now)
    {
        if (Live.Announced == Recorded.Announced) return null;
        var seconds = Recorded.At == DateTimeOffset.MinValue ? 0 : (now - Recorded.At).TotalSeconds;
        var rate = seconds > 0 ? (Live.Admitted - Recorded.Admitted) / seconds : 0;
        return Live with { AdmittedPerSecond = rate, At = now };
    }

    public DataStreamState Apply(IDataStreamEvent e) => e switch
    {
        DataStreamPaused p => this with { Paused = true, PauseReason = p.Reason },
        DataStreamResumed => this with { Paused = false, PauseReason = null },
        RunSeen r => this with { Runs = Trim(Runs.Add(r.RunId.ReferenceTime)) },
        RunsSeen r => this with { Runs = r.RunIds.Aggregate(Runs, (runs, id) => Trim(runs.Add(id.ReferenceTime))) },
        CountersRecorded c => this with { Recorded = c, Live = c },
        _ => throw new ArgumentException($"DataStream {DatasetId} cannot apply {e.GetType().Name}", nameof(e)),
    };

    private static ImmutableSortedSet<DateTimeOffset> Trim(ImmutableSortedSet<DateTimeOffset> runs) =>
        runs.Count > MaxRuns ? runs.Remove(runs.Min) : runs;
}
