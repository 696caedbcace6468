using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.ModelRuns;

/// <summary>One file to fetch, decode, write and index, as handed to the node's processing graph.</summary>
/// <param name="Generation">The run generation it belongs to (a refresh raises it); outputs are idempotent across generations.</param>
/// <param name="Attempt">0 for the first try, then the retry number.</param>
/// <param name="Fetch">The dataset's fetch settings, passed on untouched.</param>
public sealed record FileWork(
    ModelRunId RunId,
    FileId File,
    Announcement Announcement,
    string? Variable,
    string? Step,
    string Key,
    int Generation,
    int Attempt,
    FetchOptions Fetch);

/// <summary>
/// The seam into the node's processing graph (implemented by the streams side). Bounded: <see cref="TryOffer"/>
/// never blocks; false means back-pressure and the entity offers again later. Milestones come back as
/// <see cref="ReportFileFetched"/>, <see cref="ReportFileIndexed"/> and <see cref="ReportFileFailed"/> sent to the
/// ModelRun region. Called on the entity's thread: it must be cheap and thread-safe (e.g. a bounded Channel's TryWrite).
/// </summary>
public interface IFileWorkIntake
{
    bool TryOffer(FileWork work);
}

/// <summary>One file in a finalization request.</summary>
public sealed record FinalizedFile(string DataId, string Checksum, string Key, string? Variable, string? Step, Uri Location);

/// <summary>
/// A complete run to finalize: consolidated metadata and combined references, the run-level WIS2 notification and
/// the downstream trigger. Emitted once per completed generation (again after a restart until confirmed); the
/// output side answers with <see cref="ConfirmRunFinalized"/>.
/// </summary>
public sealed record RunFinalization(
    ModelRunId RunId,
    int Generation,
    string Reason,
    DateTimeOffset CompletedAt,
    IReadOnlyList<FinalizedFile> Indexed,
    IReadOnlyList<FinalizedFile> Failed,
    OutputOptions Outputs);

/// <summary>The seam to the run-level outputs. Non-blocking; false means back-pressure and the entity offers again later.</summary>
public interface IRunFinalizationSink
{
    bool TryOffer(RunFinalization request);
}

/// <summary>The ports a ModelRun entity talks to on its node.</summary>
public sealed record ModelRunPorts(IFileWorkIntake Intake, IRunFinalizationSink Finalization);

/// <summary>Entity tuning.</summary>
public sealed record ModelRunSettings
{
    /// <summary>A snapshot after this many events (a batch of admissions is one event).</summary>
    public int SnapshotEvery { get; init; } = 1000;

    /// <summary>An entity with nothing in flight passivates after this long without a message.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How soon work the intake refused (back-pressure) is offered again.</summary>
    public TimeSpan BackPressureRetry { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Work handed to the intake that has shown no milestone for this long is offered again (the graph may have
    /// lost it without a failure report). Outputs are idempotent, so a slow file done twice costs time, not data.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The shard region's role in a cluster; null for every node.</summary>
    public string? Role { get; init; }
}
