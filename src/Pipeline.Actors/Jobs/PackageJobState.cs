using System.Collections.Immutable;
using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.Jobs;

/// <summary>
/// A packaging job: its parameters, status, current attempt and the latest progress of each step. Pure:
/// <see cref="Handle"/> decides (reply, events), <see cref="Apply"/> folds an event in. A job completes at most once:
/// a success, failure or cancellation is final, and reports of an older attempt are ignored.
/// </summary>
public sealed record PackageJobState(
    string JobId,
    PackageJobSpec? Spec,
    PackageJobStatus Status,
    int Attempt,
    int Completions,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    ImmutableList<PackageJobStep> Steps,
    IReadOnlyList<PackageJobOutput> Packages,
    string? Reason) : IPipelineMessage
{
    public static PackageJobState Empty(string jobId) =>
        new(jobId, null, PackageJobStatus.Unknown, 0, 0, null, null, null, ImmutableList<PackageJobStep>.Empty, [], null);

    public bool IsTerminal => Status is PackageJobStatus.Succeeded or PackageJobStatus.Failed or PackageJobStatus.Cancelled;

    /// <summary>Submitted and not finished: needs an attempt running somewhere.</summary>
    public bool NeedsWork => Spec is not null && Status is PackageJobStatus.Queued or PackageJobStatus.Running;

    public PackageJobView View(bool created = false) =>
        new(JobId, Status, Spec, created, Attempt, Completions, SubmittedAt, StartedAt, FinishedAt, Steps, Packages, Reason);

    public (object? Reply, IReadOnlyList<IPackageJobEvent> Events) Handle(IPackageJobCommand command, DateTimeOffset now) => command switch
    {
        SubmitPackageJob s when Spec is null => (View(created: true) with { Status = PackageJobStatus.Queued, Spec = s.Spec, SubmittedAt = now, Attempt = 1 },
            [new PackageJobSubmitted(s.Spec, now), new PackageJobAttemptStarted(1, now)]),
        SubmitPackageJob => (View(), []),
        GetPackageJob => (View(), []),
        CancelPackageJob c when NeedsWork => (View() with { Status = PackageJobStatus.Cancelled, Reason = c.Reason, FinishedAt = now }, [new PackageJobCancelled(c.Reason, now)]),
        CancelPackageJob => (View(), []),
        ReportPackageJobProgress p when NeedsWork && p.Attempt == Attempt => (new PackageJobAck(JobId, p.Attempt, true), [new PackageJobProgressed(p.Attempt, p.Step, now)]),
        ReportPackageJobProgress p => (new PackageJobAck(JobId, p.Attempt, false), []),
        ReportPackageJobSucceeded r when NeedsWork && r.Attempt == Attempt => (new PackageJobAck(JobId, r.Attempt, true), [new PackageJobSucceeded(r.Attempt, r.Packages, now)]),
        ReportPackageJobSucceeded r => (new PackageJobAck(JobId, r.Attempt, false), []),
        ReportPackageJobFailed f when NeedsWork && f.Attempt == Attempt => (new PackageJobAck(JobId, f.Attempt, true), [new PackageJobFailed(f.Attempt, f.Reason, now)]),
        ReportPackageJobFailed f => (new PackageJobAck(JobId, f.Attempt, false), []),
        _ => (null, []),
    };

    /// <summary>After recovery: a job that was not finished starts its next attempt.</summary>
    public IReadOnlyList<IPackageJobEvent> Resume(DateTimeOffset now) => NeedsWork ? [new PackageJobAttemptStarted(Attempt + 1, now)] : [];

    public PackageJobState Apply(IPackageJobEvent e) => e switch
    {
        PackageJobSubmitted s => this with { Spec = s.Spec, Status = PackageJobStatus.Queued, SubmittedAt = s.At },
        PackageJobAttemptStarted a => this with { Attempt = a.Attempt, Status = PackageJobStatus.Queued, Steps = ImmutableList<PackageJobStep>.Empty },
        PackageJobProgressed p => this with
        {
            Status = PackageJobStatus.Running,
            StartedAt = StartedAt ?? p.At,
            Steps = Steps.FindIndex(s => s.Package == p.Step.Package && s.Name == p.Step.Name) is var i and >= 0 ? Steps.SetItem(i, p.Step) : Steps.Add(p.Step),
        },
        PackageJobSucceeded s => this with { Status = PackageJobStatus.Succeeded, Packages = s.Packages, FinishedAt = s.At, Completions = Completions + 1, Reason = null },
        PackageJobFailed f => this with { Status = PackageJobStatus.Failed, Reason = f.Reason, FinishedAt = f.At, Completions = Completions + 1 },
        PackageJobCancelled c => this with { Status = PackageJobStatus.Cancelled, Reason = c.Reason, FinishedAt = c.At },
        _ => this,
    };
}
