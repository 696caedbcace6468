using Pipeline.Actors.Jobs;
using Xunit;

namespace Pipeline.Actors.Tests;

public sealed class PackageJobStateSpecs
{
    private static readonly DateTimeOffset T = new(2026, 11, 24, 6, 0, 0, TimeSpan.Zero);
    private const string Id = "pkg-0123456789abcdef0123";

    private static PackageJobState Fold(PackageJobState s, IReadOnlyList<IPackageJobEvent> events) => events.Aggregate(s, (x, e) => x.Apply(e));

    private static PackageJobState Submitted()
    {
        var (_, events) = PackageJobState.Empty(Id).Handle(new SubmitPackageJob(Id, PackageJobSamples.Spec), T);
        return Fold(PackageJobState.Empty(Id), events);
    }

    [Fact]
    public void Should_give_equal_identities_when_the_parameters_differ_only_in_order_and_repetition()
    {
        var a = PackageJobSamples.Spec;
        var b = a with { Variables = ["t", "2t", "t"], Trigger = "api-other" };
        Assert.Equal(a.Identity(), b.Normalized().Identity());
        Assert.NotEqual(a.Identity(), (a with { Variables = ["t"] }).Identity());
        Assert.NotEqual(a.Identity(), (a with { BoundarySha256 = "other" }).Identity());
        Assert.NotEqual(a.Identity(), (a with { Trigger = "ingest:x/2026-11-24T00Z#2" }).Identity());
        Assert.Matches("^pkg-[0-9a-f]{20}$", a.Identity());
    }

    [Fact]
    public void Should_answer_the_existing_job_without_events_when_submitted_twice()
    {
        var s = Submitted();
        Assert.Equal(PackageJobStatus.Queued, s.Status);
        Assert.Equal(1, s.Attempt);
        var (reply, events) = s.Handle(new SubmitPackageJob(Id, PackageJobSamples.Spec with { Variables = ["x"] }), T);
        Assert.Empty(events);
        var view = Assert.IsType<PackageJobView>(reply);
        Assert.False(view.Created);
        Assert.Equal(PackageJobSamples.Spec, view.Spec);
    }

    [Fact]
    public void Should_complete_once_and_ignore_reports_of_an_older_attempt_after_a_restart()
    {
        var s = Submitted();
        s = Fold(s, s.Resume(T)); // recovered: attempt 2
        Assert.Equal(2, s.Attempt);
        var (stale, none) = s.Handle(new ReportPackageJobSucceeded(Id, 1, []), T);
        Assert.Empty(none);
        Assert.False(Assert.IsType<PackageJobAck>(stale).Continue);

        var (ack, events) = s.Handle(new ReportPackageJobSucceeded(Id, 2, []), T);
        Assert.True(Assert.IsType<PackageJobAck>(ack).Continue);
        s = Fold(s, events);
        Assert.Equal(PackageJobStatus.Succeeded, s.Status);
        Assert.Equal(1, s.Completions);
        Assert.Empty(s.Handle(new ReportPackageJobSucceeded(Id, 2, []), T).Events);
        Assert.Empty(s.Resume(T));
    }

    [Fact]
    public void Should_tell_the_runner_to_stop_after_a_cancellation_and_never_complete()
    {
        var s = Submitted();
        s = Fold(s, s.Handle(new ReportPackageJobProgress(Id, 1, new PackageJobStep("d", "inputs", 1, 4, null)), T).Events);
        Assert.Equal(PackageJobStatus.Running, s.Status);
        s = Fold(s, s.Handle(new CancelPackageJob(Id, "operator"), T).Events);
        Assert.Equal(PackageJobStatus.Cancelled, s.Status);
        var (ack, events) = s.Handle(new ReportPackageJobProgress(Id, 1, new PackageJobStep("d", "inputs", 2, 4, null)), T);
        Assert.Empty(events);
        Assert.False(Assert.IsType<PackageJobAck>(ack).Continue);
        Assert.Empty(s.Handle(new ReportPackageJobSucceeded(Id, 1, []), T).Events);
        Assert.Empty(s.Handle(new CancelPackageJob(Id, "again"), T).Events);
        Assert.Equal(0, s.Completions);
    }

    [Fact]
    public void Should_keep_the_latest_progress_of_each_step()
    {
        var s = Submitted();
        foreach (var (name, done) in new[] { ("inputs", 1), ("inputs", 4), ("write", 2) })
            s = Fold(s, s.Handle(new ReportPackageJobProgress(Id, 1, new PackageJobStep("d", name, done, 4, null)), T).Events);
        Assert.Equal([("inputs", 4), ("write", 2)], s.Steps.Select(x => (x.Name, x.Done)));
    }

    [Fact]
    public void Should_list_unsettled_jobs_and_keep_boundaries_by_name_in_the_registry()
    {
        var r = PackagingRegistryState.Empty;
        var (reply, events) = r.Handle(new DefineBoundaries([new StoredBoundary("A", "{}", "h1", 0, 0, 1, 1, 1, 4, default)]), T);
        r = events.Aggregate(r, (x, e) => x.Apply(e));
        Assert.Equal(["A"], Assert.IsType<BoundariesDefined>(reply).Created);
        var (again, none) = r.Handle(new DefineBoundaries([new StoredBoundary("A", "{}", "h1", 0, 0, 1, 1, 1, 4, default)]), T);
        Assert.Empty(none);
        Assert.Equal(["A"], Assert.IsType<BoundariesDefined>(again).Unchanged);

        foreach (var id in new[] { "j1", "j2" }) r = r.Handle(new RegisterPackageJob(id), T).Events.Aggregate(r, (x, e) => x.Apply(e));
        r = r.Handle(new SettlePackageJob("j1", PackageJobStatus.Succeeded), T).Events.Aggregate(r, (x, e) => x.Apply(e));
        Assert.Equal(["j2"], r.Unsettled);
        Assert.Empty(r.Handle(new RegisterPackageJob("j1"), T).Events);
    }
}
