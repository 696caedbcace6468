using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class ModelRunStateSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 3, 0, 0, TimeSpan.Zero);

    private static ModelRunRules Rules(CompletenessOptions? c = null, FetchOptions? f = null) =>
        ModelRunRules.Of(CatalogOf(DatasetOptions(c, f)).Get(new DatasetId(DatasetName)));

    private static ModelRunState Fold(ModelRunState s, object command, ModelRunRules rules, DateTimeOffset now, out object reply)
    {
        var (r, events) = s.Handle(command, rules, now);
        reply = r;
        return events.Aggregate(s, (acc, e) => acc.Apply(e));
    }

    [Fact]
    public void Should_emit_one_event_listing_the_new_files_of_the_whole_batch_when_admitting()
    {
        var (reply, events) = ModelRunState.Empty(Run).Handle(Admit(Request("A", 0), Request("B", 0), Request("A", 0)), Rules(), T0);

        var batch = Assert.IsType<FilesAdmitted>(Assert.Single(events));
        Assert.Equal(T0, batch.At);
        Assert.Equal(["A/000", "B/000"], batch.Files.Select(f => f.Key));
        Assert.Equal([AdmissionVerdict.Admitted, AdmissionVerdict.Admitted, AdmissionVerdict.Duplicate],
            ((AdmitFilesResult)reply).Outcomes.Select(o => o.Verdict));
    }

    [Fact]
    public void Should_fold_to_the_same_state_when_a_journal_holds_per_file_events_instead_of_one_batch()
    {
        var items = new[] { Request("A", 0), Request("B", 0), Request("C", 3) };
        var completed = ModelRunState.Empty(Run).Apply(new FilesAdmitted([new AdmittedFile(FileId.Of(items[0].Announcement), items[0].Announcement,
            items[0].Variable, items[0].Step, items[0].Key)], T0)).Apply(new RunCompleted(0, "expected-count", T0));
        var later = T0.AddMinutes(5);

        var batched = completed.Apply(new FilesAdmitted(items.Skip(1).Select(i =>
            new AdmittedFile(FileId.Of(i.Announcement), i.Announcement, i.Variable, i.Step, i.Key)).ToArray(), later));
        var perFile = items.Skip(1).Aggregate(completed, (s, i) =>
            s.Apply(new FileAdmitted(FileId.Of(i.Announcement), i.Announcement, i.Variable, i.Step, i.Key, later)));

        Assert.Equal(perFile.Files.OrderBy(f => f.Key).ToArray(), batched.Files.OrderBy(f => f.Key).ToArray());
        // The run reopened once for the batch, as it did for the first of the per-file events.
        Assert.Equal((1, later), (batched.Generation, batched.LastAdmittedAt));
        Assert.Equal((perFile.Generation, perFile.LastAdmittedAt), (batched.Generation, batched.LastAdmittedAt));
    }

    [Fact]
    public void Should_reject_items_when_the_batch_is_addressed_to_another_run()
    {
        var other = Run with { ReferenceTime = RefTime.AddHours(6) };
        var (reply, events) = ModelRunState.Empty(Run).Handle(new AdmitFiles(other, [Request("A", 0)]), Rules(), T0);

        Assert.Empty(events);
        var outcome = Assert.Single(((AdmitFilesResult)reply).Outcomes);
        Assert.Equal(AdmissionVerdict.Rejected, outcome.Verdict);
        Assert.Contains(other.ToString(), outcome.Reason);
    }

    [Fact]
    public void Should_ignore_milestones_of_a_superseded_version_when_a_correction_was_admitted()
    {
        var rules = Rules();
        var s = Fold(ModelRunState.Empty(Run), Admit(Request("A", 0, "v1")), rules, T0, out _);
        var v1 = s.Files.Values.Single().Id;
        s = Fold(s, Admit(Request("A", 0, "v2")), rules, T0, out _);

        s = Fold(s, new ReportFileIndexed(Run, v1, 1), rules, T0, out var reply);

        Assert.False(((MilestoneAck)reply).Recorded);
        Assert.Equal(FileStatus.Admitted, s.Files.Values.Single().Status);
    }

    [Fact]
    public void Should_complete_once_per_generation_and_reopen_when_a_late_file_arrives()
    {
        var rules = Rules(new CompletenessOptions { ExpectedFiles = ["A/000", "B/000"] });
        var s = Fold(ModelRunState.Empty(Run), Admit(Request("A", 0), Request("B", 0)), rules, T0, out _);
        foreach (var f in s.Files.Values.ToArray()) s = Fold(s, new ReportFileIndexed(Run, f.Id, 1), rules, T0, out _);

        var done = s.CompletionDue(rules, T0);
        Assert.Equal(("expected-files", 0), (done!.Reason, done.Generation));
        s = s.Apply(done);
        Assert.Null(s.CompletionDue(rules, T0.AddHours(1)));

        s = Fold(s, Admit(Request("C", 0)), rules, T0, out _);
        Assert.Equal(1, s.Generation);
        Assert.Null(s.CompletionDue(rules, T0));
        s = Fold(s, new ReportFileIndexed(Run, s.Files["20261101/00/C_P000.grib2"].Id, 1), rules, T0, out _);
        Assert.Equal(1, s.CompletionDue(rules, T0)!.Generation);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_complete_listing_failures_when_every_expected_file_is_terminal_unless_told_to_wait_for_all_indexed(bool withFailures)
    {
        foreach (var completeness in new[]
                 {
                     new CompletenessOptions { ExpectedCount = 2, CompleteWithFailures = withFailures },
                     new CompletenessOptions { ExpectedFiles = ["A/000", "B/000"], CompleteWithFailures = withFailures },
                 })
        {
            var rules = Rules(completeness);
            var s = Fold(ModelRunState.Empty(Run), Admit(Request("A", 0), Request("B", 0)), rules, T0, out _);
            var (a, b) = (s.Files.Values.Single(f => f.Key == "A/000").Id, s.Files.Values.Single(f => f.Key == "B/000").Id);
            s = Fold(s, new ReportFileIndexed(Run, a, 1), rules, T0, out _);
            Assert.Null(s.CompletionDue(rules, T0)); // B still in flight
            s = Fold(s, new ReportFileFailed(Run, b, "corrupt: GRIB is truncated", false), rules, T0, out _);

            var done = s.CompletionDue(rules, T0);
            if (!withFailures)
            {
                Assert.Null(done);
                continue;
            }

            Assert.EndsWith("-with-failures (1 failed)", done!.Reason);
            s = s.Apply(done);
            // A fixed copy of B (a new checksum) opens generation 1, which completes normally once it is indexed.
            s = Fold(s, Admit(Request("B", 0, "fixed")), rules, T0, out _);
            Assert.Equal(1, s.Generation);
            s = Fold(s, new ReportFileIndexed(Run, s.Files.Values.Single(f => f.Key == "B/000").Id, 1), rules, T0, out _);
            Assert.DoesNotContain("failures", s.CompletionDue(rules, T0)!.Reason);
        }
    }

    [Fact]
    public void Should_wait_for_the_quiet_period_from_the_last_admission_when_that_is_the_rule()
    {
        var rules = Rules(new CompletenessOptions { QuietPeriod = TimeSpan.FromMinutes(10) });
        var s = Fold(ModelRunState.Empty(Run), Admit(Request("A", 0)), rules, T0, out _);
        s = Fold(s, new ReportFileIndexed(Run, s.Files.Values.Single().Id, 1), rules, T0, out _);

        Assert.Equal(T0.AddMinutes(10), s.QuietPeriodEnds(rules));
        Assert.Null(s.CompletionDue(rules, T0.AddMinutes(9)));
        Assert.Equal("quiet-period", s.CompletionDue(rules, T0.AddMinutes(10))!.Reason);
    }

    [Fact]
    public void Should_schedule_retries_from_the_event_time_and_fail_at_the_attempt_limit()
    {
        var rules = Rules(f: new FetchOptions { MaxAttempts = 2, RetryDelay = TimeSpan.FromMinutes(1) });
        var s = Fold(ModelRunState.Empty(Run), Admit(Request("A", 0)), rules, T0, out _);
        var id = s.Files.Values.Single().Id;

        var (_, first) = s.Handle(new ReportFileFailed(Run, id, "404", true), rules, T0);
        var retry = Assert.IsType<FileRetryScheduled>(Assert.Single(first));
        Assert.Equal(T0.AddMinutes(1), retry.DueAt);
        s = s.Apply(retry);

        var (_, second) = s.Handle(new ReportFileFailed(Run, id, "404", true), rules, T0.AddMinutes(1));
        Assert.Equal(2, Assert.IsType<FileFailed>(Assert.Single(second)).Attempts);
    }

    [Fact]
    public void Should_replay_to_the_same_state_when_events_are_applied_again()
    {
        var rules = Rules(new CompletenessOptions { ExpectedCount = 1 });
        var events = new List<IModelRunEvent>();
        var s = ModelRunState.Empty(Run);
        foreach (var command in new object[] { Admit(Request("A", 0)), new RefreshRun(Run, "why not") })
        {
            var (_, e) = s.Handle(command, rules, T0);
            events.AddRange(e);
            s = e.Aggregate(s, (acc, x) => acc.Apply(x));
        }

        var replayed = events.Aggregate(ModelRunState.Empty(Run), (acc, x) => acc.Apply(x));
        Assert.Equal(s.View(), replayed.View(), new ViewComparer());
    }

    [Fact]
    public void Should_refuse_unknown_commands_with_a_message_naming_the_run_and_type()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelRunState.Empty(Run).Handle("hello", Rules(), T0));
        Assert.Contains(Run.ToString(), e.Message);
        Assert.Contains("String", e.Message);
    }

    private sealed class ViewComparer : IEqualityComparer<ModelRunView>
    {
        public bool Equals(ModelRunView? x, ModelRunView? y) =>
            x is not null && y is not null && x with { Files = [] } == y with { Files = [] } && x.Files.SequenceEqual(y.Files);

        public int GetHashCode(ModelRunView obj) => obj.RunId.GetHashCode();
    }
}
