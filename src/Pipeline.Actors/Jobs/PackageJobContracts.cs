using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.Jobs;

/// <summary>Routes to the PackageJob entity of <see cref="JobId"/>.</summary>
public interface IPackageJobCommand : IPipelineMessage
{
    string JobId { get; }
}

/// <summary>Routes to the packaging registry (boundaries and the job index): one entity.</summary>
public interface IPackagingRegistryCommand : IPipelineMessage;

public enum PackageJobStatus
{
    /// <summary>No job was ever submitted under this id.</summary>
    Unknown,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// A packaging job's parameters, normalised: runs resolved to run ids and sorted, lists sorted and de-duplicated,
/// the boundary named and pinned by the hash of its geometry. Two submissions with equal normalised parameters are
/// one job: <see cref="Identity"/> is the entity id.
/// </summary>
/// <param name="Runs">Run ids (<c>dataset/2026-11-24T00Z</c>), one package each.</param>
/// <param name="BoundaryGeometry">The boundary's GeoJSON geometry (covered by <paramref name="BoundarySha256"/>, not hashed again).</param>
/// <param name="Format"><c>zarr</c> or <c>grib2</c>.</param>
/// <param name="Trigger">Who asked: <c>api</c>, or <c>ingest:RUN#GENERATION</c> for packages rebuilt when a run is finalized.</param>
public sealed record PackageJobSpec(
    IReadOnlyList<string> Runs,
    string? Boundary,
    string? BoundarySha256,
    string? BoundaryGeometry,
    IReadOnlyList<string> Variables,
    IReadOnlyList<string> Levels,
    string? Match,
    double? FromStep,
    double? ToStep,
    bool Clip,
    string Format,
    string Trigger)
{
    /// <summary>The job id: <c>pkg-</c> and 20 hex digits of the SHA-256 of the canonical parameters (the trigger excluded for API jobs).</summary>
    public string Identity()
    {
        var canonical = JsonSerializer.Serialize(new object?[]
        {
            Runs.Order(StringComparer.Ordinal).ToArray(), Boundary, BoundarySha256, Variables.Order(StringComparer.Ordinal).ToArray(),
            Levels.Order(StringComparer.Ordinal).ToArray(), Match, FromStep?.ToString("R", CultureInfo.InvariantCulture),
            ToStep?.ToString("R", CultureInfo.InvariantCulture), Clip, Format, Trigger.StartsWith("ingest:", StringComparison.Ordinal) ? Trigger : null,
        });
        return "pkg-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..20];
    }

    /// <summary>The same parameters in canonical order.</summary>
    public PackageJobSpec Normalized() => this with
    {
        Runs = [.. Runs.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
        Variables = [.. Variables.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
        Levels = [.. Levels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
    };
}

/// <summary>Progress of one step of an attempt (read, select, clip, write, describe, per package).</summary>
public sealed record PackageJobStep(string Package, string Name, int Done, int Total, string? Detail);

/// <summary>A finished package: where its datapackage.json is, how big, what it holds.</summary>
public sealed record PackageJobOutput(string Run, string Prefix, string DataPackage, string Location, string? Href, int Fields, long Cells, long InsideCells,
    long Bytes, int Resources, IReadOnlyList<string> Warnings);

// ---- commands and replies -------------------------------------------------------------------------------------

/// <summary>Submit a job (the entity id is <see cref="PackageJobSpec.Identity"/>). The reply says whether it was created or already known.</summary>
public sealed record SubmitPackageJob(string JobId, PackageJobSpec Spec) : IPackageJobCommand;

public sealed record GetPackageJob(string JobId) : IPackageJobCommand;

public sealed record CancelPackageJob(string JobId, string Reason) : IPackageJobCommand;

/// <summary>Recover the entity (after a crash) so that it re-dispatches an unfinished job; no reply.</summary>
public sealed record WakePackageJob(string JobId) : IPackageJobCommand;

/// <summary>From the runner: a step's progress in attempt <paramref name="Attempt"/>. The reply says whether to go on.</summary>
public sealed record ReportPackageJobProgress(string JobId, int Attempt, PackageJobStep Step) : IPackageJobCommand;

public sealed record ReportPackageJobSucceeded(string JobId, int Attempt, IReadOnlyList<PackageJobOutput> Packages) : IPackageJobCommand;

public sealed record ReportPackageJobFailed(string JobId, int Attempt, string Reason) : IPackageJobCommand;

/// <summary>The entity's answer to a runner's report: <paramref name="Continue"/> false when the job was cancelled or the attempt is stale.</summary>
public sealed record PackageJobAck(string JobId, int Attempt, bool Continue) : IPipelineMessage;

/// <summary>A job as the API shows it.</summary>
public sealed record PackageJobView(
    string JobId,
    PackageJobStatus Status,
    PackageJobSpec? Spec,
    bool Created,
    int Attempt,
    int Completions,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<PackageJobStep> Steps,
    IReadOnlyList<PackageJobOutput> Packages,
    string? Reason) : IPipelineMessage;

// ---- events --------------------------------------------------------------------------------------------------

public interface IPackageJobEvent : IPipelineMessage
{
    DateTimeOffset At { get; }
}

public sealed record PackageJobSubmitted(PackageJobSpec Spec, DateTimeOffset At) : IPackageJobEvent;

/// <summary>An attempt began (the first, or again after a crash or rebalance).</summary>
public sealed record PackageJobAttemptStarted(int Attempt, DateTimeOffset At) : IPackageJobEvent;

public sealed record PackageJobProgressed(int Attempt, PackageJobStep Step, DateTimeOffset At) : IPackageJobEvent;

public sealed record PackageJobSucceeded(int Attempt, IReadOnlyList<PackageJobOutput> Packages, DateTimeOffset At) : IPackageJobEvent;

public sealed record PackageJobFailed(int Attempt, string Reason, DateTimeOffset At) : IPackageJobEvent;

public sealed record PackageJobCancelled(string Reason, DateTimeOffset At) : IPackageJobEvent;

// ---- ports ---------------------------------------------------------------------------------------------------

/// <summary>One attempt of a job, handed to the node's packaging runner.</summary>
public sealed record PackageJobWork(string JobId, int Attempt, PackageJobSpec Spec);

/// <summary>
/// The seam into the node's packaging runner (the host implements it). <see cref="TryOffer"/> never blocks (false:
/// back-pressure, offered again later); <see cref="Cancel"/> stops the job's running attempt on this node, if any.
/// Progress and outcomes come back as <see cref="ReportPackageJobProgress"/>, <see cref="ReportPackageJobSucceeded"/>
/// and <see cref="ReportPackageJobFailed"/> to the PackageJob region.
/// </summary>
public interface IPackageJobIntake
{
    bool TryOffer(PackageJobWork work);

    void Cancel(string jobId);
}
