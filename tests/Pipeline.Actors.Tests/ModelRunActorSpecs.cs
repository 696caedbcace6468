using Akka.Actor;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Sharding;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class ModelRunActorSpecs : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly string _dir = TempDir();

    void IDisposable.Dispose()
    {
        Shutdown();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Should_admit_new_files_and_answer_duplicates_when_the_same_version_is_announced_again()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());

        var first = await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3), Request("TMP", 0)));
        Assert.Equal([AdmissionVerdict.Admitted, AdmissionVerdict.Admitted, AdmissionVerdict.Duplicate], first.Outcomes.Select(o => o.Verdict));

        var second = await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3, checksum: "corrected")));
        Assert.Equal([AdmissionVerdict.Duplicate, AdmissionVerdict.Admitted], second.Outcomes.Select(o => o.Verdict));

        await AwaitAssertAsync(() => Assert.Equal(3, node.Intake.Offered.Count), Deadline);
        Assert.Equal(["abc", "abc", "corrected"], node.Intake.Offered.Select(w => w.File.Checksum.Split(':')[1]));
        var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
        Assert.Equal(2, view.Files.Count);
        Assert.Equal("sha256:corrected", view.Files.Single(f => f.Key == "TMP/003").Checksum);
    }

    [Fact]
    public async Task Should_reject_every_file_when_the_dataset_is_not_in_the_catalog()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        var stranger = new ModelRunId(new DatasetId("not.configured"), RefTime);

        var result = await node.Ask<AdmitFilesResult>(new AdmitFiles(stranger, [Request("TMP", 0)]));

        var outcome = Assert.Single(result.Outcomes);
        Assert.Equal(AdmissionVerdict.Rejected, outcome.Verdict);
        Assert.Contains("not.configured", outcome.Reason);
        Assert.Empty(node.Intake.Offered);
    }

    [Fact]
    public async Task Should_reissue_unindexed_files_and_keep_state_when_recovered_on_a_new_system()
    {
        var catalog = CatalogOf();
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog, new ModelRunSettings { SnapshotEvery = 3 }))
        {
            await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3), Request("TMP", 6), Request("TMP", 9)));
            var works = await WaitForWork(node, 4);
            await node.Ask<MilestoneAck>(new ReportFileFetched(Run, works[0].File, 10));
            await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, works[0].File, 1));
            await node.Ask<MilestoneAck>(new ReportFileFetched(Run, works[1].File, 10));
        }

        await using var again = await TestNode.StartAsync(Sqlite(_dir), catalog);
        var view = await again.Ask<ModelRunView>(new GetModelRun(Run));

        Assert.Equal((1, 1, 2), (view.Indexed, view.Fetched, view.Admitted));
        await AwaitAssertAsync(() => Assert.Equal(3, again.Intake.Offered.Count), Deadline);
        Assert.Equal(["TMP/003", "TMP/006", "TMP/009"], again.Intake.Offered.Select(w => w.Key).Order());
        var duplicate = await again.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));
        Assert.Equal(AdmissionVerdict.Duplicate, Assert.Single(duplicate.Outcomes).Verdict);
    }

    [Fact]
    public async Task Should_finalize_exactly_once_when_the_expected_count_is_indexed()
    {
        var catalog = CatalogOf(DatasetOptions(new CompletenessOptions { ExpectedCount = 2 }));
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3)));
            var works = await WaitForWork(node, 2);
            foreach (var w in works) await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, w.File, 1));
            var repeat = await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, works[0].File, 1));
            Assert.False(repeat.Recorded);

            await AwaitAssertAsync(() => Assert.Single(node.Finalizer.Requests), Deadline);
            var request = node.Finalizer.Requests.Single();
            Assert.Equal(("expected-count", 0, 2), (request.Reason, request.Generation, request.Indexed.Count));
            Assert.Equal("origin/a/wis2/test/data/core/weather", request.Outputs.WnmTopic);
        }

        // Not confirmed before the stop: the next incarnation asks again, and only once.
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal(0, view.CompletedGeneration);
            await AwaitAssertAsync(() => Assert.Single(node.Finalizer.Requests), Deadline);
            var ack = await node.Ask<FinalizationAck>(new ConfirmRunFinalized(Run, 0));
            Assert.True(ack.Recorded);
            Assert.False((await node.Ask<FinalizationAck>(new ConfirmRunFinalized(Run, 0))).Recorded);
        }

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal(0, view.FinalizedGeneration);
            Assert.Empty(node.Finalizer.Requests);
            Assert.Empty(node.Intake.Offered);
        }
    }

    [Fact]
    public async Task Should_rest_in_the_journal_as_one_snapshot_once_finalized_and_recover_from_it()
    {
        var catalog = CatalogOf(DatasetOptions(new CompletenessOptions { ExpectedCount = 2 }));
        var id = "model-run-" + Run;
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3)));
            var works = await WaitForWork(node, 2);
            foreach (var w in works) await node.Ask<MilestoneAck>(new ReportFileFetched(Run, w.File, 10));
            foreach (var w in works) await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, w.File, 1));
            await AwaitAssertAsync(() => Assert.Single(node.Finalizer.Requests), Deadline);
            Assert.True(JournalRows(id).Live > 4);
            Assert.True((await node.Ask<FinalizationAck>(new ConfirmRunFinalized(Run, 0))).Recorded);

            // The finalization snapshots the run; the events it covers go (the last row stays, marked deleted).
            await AwaitAssertAsync(() => Assert.Equal((0L, 1L, 1L), JournalRows(id)), Deadline);
        }

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal((2, 0, 0), (view.Indexed, view.CompletedGeneration, view.FinalizedGeneration));
            var again = await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 3)));
            Assert.Equal(AdmissionVerdict.Duplicate, Assert.Single(again.Outcomes).Verdict);
            Assert.Empty(node.Finalizer.Requests);
            Assert.Empty(node.Intake.Offered);

            // New events go on after the deleted ones, and recover on top of the snapshot.
            await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 6)));
            await WaitForWork(node, 1);
        }

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal((2, 3), (view.Indexed, view.Files.Count));
        }
    }

    /// <summary>The entity's journal rows not marked deleted, all its rows, and its snapshots.</summary>
    private (long Live, long All, long Snapshots) JournalRows(string persistenceId)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(Pipeline.Actors.Persistence.PipelinePersistence.PrepareSqlite(Sqlite(_dir)));
        db.Open();
        long Count(string sql)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = sql;
            cmd.Parameters.AddWithValue("$id", persistenceId);
            return Convert.ToInt64(cmd.ExecuteScalar());
        }
        return (Count("SELECT COUNT(*) FROM journal WHERE persistence_id = $id AND NOT deleted"),
            Count("SELECT COUNT(*) FROM journal WHERE persistence_id = $id"),
            Count("SELECT COUNT(*) FROM snapshot WHERE persistence_id = $id"));
    }

    [Fact]
    public async Task Should_complete_the_run_when_the_quiet_period_passes_with_nothing_in_flight()
    {
        var catalog = CatalogOf(DatasetOptions(new CompletenessOptions { QuietPeriod = TimeSpan.FromMilliseconds(300) }));
        await using var node = await TestNode.StartAsync(Sqlite(_dir), catalog);

        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));
        var work = (await WaitForWork(node, 1))[0];
        Assert.Empty(node.Finalizer.Requests);
        await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, work.File, 1));

        await AwaitAssertAsync(() => Assert.Single(node.Finalizer.Requests), Deadline);
        Assert.Equal("quiet-period", node.Finalizer.Requests.Single().Reason);
    }

    [Fact]
    public async Task Should_retry_a_missing_file_on_a_timer_and_fail_it_when_attempts_run_out()
    {
        var fetch = new FetchOptions { MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(100) };
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf(DatasetOptions(fetch: fetch)));

        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));
        var work = (await WaitForWork(node, 1))[0];
        await node.Ask<MilestoneAck>(new ReportFileFailed(Run, work.File, "404 Not Found", Retryable: true));
        await AwaitAssertAsync(() => Assert.Equal(2, node.Intake.Offered.Count), Deadline);
        Assert.Equal(1, node.Intake.Offered.Last().Attempt);

        await node.Ask<MilestoneAck>(new ReportFileFailed(Run, work.File, "404 Not Found", Retryable: true));
        await AwaitAssertAsync(() => Assert.Equal(3, node.Intake.Offered.Count), Deadline);
        await node.Ask<MilestoneAck>(new ReportFileFailed(Run, work.File, "404 Not Found", Retryable: true));

        var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
        var file = Assert.Single(view.Files);
        Assert.Equal((FileStatus.Failed, 3, "404 Not Found"), (file.Status, file.Attempts, file.FailureReason));
    }

    [Fact]
    public async Task Should_rebuild_and_finalize_again_when_a_complete_run_is_refreshed()
    {
        var catalog = CatalogOf(DatasetOptions(new CompletenessOptions { ExpectedCount = 2 }));
        await using var node = await TestNode.StartAsync(Sqlite(_dir), catalog);
        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3)));
        foreach (var w in await WaitForWork(node, 2)) await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, w.File, 1));
        await AwaitAssertAsync(() => Assert.Single(node.Finalizer.Requests), Deadline);
        await node.Ask<FinalizationAck>(new ConfirmRunFinalized(Run, 0));

        var accepted = await node.Ask<RefreshAccepted>(new RefreshRun(Run, "rebuild after a decoder fix"));
        Assert.Equal((1, 2), (accepted.Generation, accepted.Files));
        var redo = await WaitForWork(node, 4);
        Assert.All(redo.Skip(2), w => Assert.Equal(1, w.Generation));
        foreach (var w in redo.Skip(2)) await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, w.File, 1));

        await AwaitAssertAsync(() => Assert.Equal(2, node.Finalizer.Requests.Count), Deadline);
        Assert.Equal(1, node.Finalizer.Requests.Last().Generation);

        var one = await node.Ask<RefreshAccepted>(new RefreshFile(Run, redo[0].File.DataId, "one file"));
        Assert.Equal(1, one.Files);
        await AwaitAssertAsync(() => Assert.Equal(5, node.Intake.Offered.Count), Deadline);
        var missing = await node.Ask<RefreshRejected>(new RefreshFile(Run, "no/such/file", "typo"));
        Assert.Contains("no/such/file", missing.Reason);
    }

    [Fact]
    public async Task Should_passivate_when_idle_with_nothing_in_flight_and_recover_when_asked_again()
    {
        var catalog = CatalogOf(DatasetOptions(new CompletenessOptions { ExpectedCount = 1 }));
        await using var node = await TestNode.StartAsync(Sqlite(_dir), catalog, new ModelRunSettings { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));
        var work = (await WaitForWork(node, 1))[0];
        var path = $"/user/{ModelRunHostingExtensions.TypeName}/{LocalEntityRegion.ChildName(Run.ToString())}";
        Assert.NotNull(await Entity(node, path));

        await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, work.File, 1));
        await AwaitAssertAsync(() => Assert.Single(node.Finalizer.Requests), Deadline);
        await node.Ask<FinalizationAck>(new ConfirmRunFinalized(Run, 0));

        await AwaitAssertAsync(async () => Assert.Null(await Entity(node, path)), Deadline, TimeSpan.FromMilliseconds(100));
        var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
        Assert.Equal((1, 0), (view.Indexed, view.FinalizedGeneration));
        Assert.Single(node.Intake.Offered);
    }

    [Fact]
    public async Task Should_offer_again_when_the_intake_pushes_back()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        node.Intake.Accepting = false;

        var result = await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3)));
        Assert.All(result.Outcomes, o => Assert.Equal(AdmissionVerdict.Admitted, o.Verdict));
        Assert.Empty(node.Intake.Offered);

        node.Intake.Accepting = true;
        await AwaitAssertAsync(() => Assert.Equal(2, node.Intake.Offered.Count), Deadline);
    }

    [Fact]
    public async Task Should_offer_work_again_when_it_shows_no_progress_for_the_stall_timeout()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf(), new ModelRunSettings { StallTimeout = TimeSpan.FromMilliseconds(400) });

        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));

        var works = await WaitForWork(node, 2);
        Assert.Equal(works[0].File, works[1].File);
    }

    [Fact]
    public async Task Should_replay_the_admitted_announcements_when_asked()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("UGRD", 3)));

        var replay = await node.Ask<AnnouncementsReplayed>(new ReplayAnnouncements(Run));

        Assert.Equal(["20261101/00/TMP_P000.grib2", "20261101/00/UGRD_P003.grib2"], replay.Announcements.Select(a => a.DataId).Order());
    }

    [Fact]
    public async Task Should_admit_through_the_shard_region_when_running_as_a_one_node_cluster()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf(), clustered: true);

        var result = await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));
        var viaStream = await node.Ask<DataStreams.AdmitAnnouncementsResult>(
            new DataStreams.AdmitAnnouncements(Run.Dataset, [Announcement("TMP", 0), Announcement("TMP", 3)]));

        Assert.Equal(AdmissionVerdict.Admitted, Assert.Single(result.Outcomes).Verdict);
        Assert.Equal([AdmissionVerdict.Duplicate, AdmissionVerdict.Admitted], viaStream.Outcomes.Select(o => o.Verdict));
        await AwaitAssertAsync(() => Assert.Equal(2, node.Intake.Offered.Count), Deadline);
    }

    private async Task<FileWork[]> WaitForWork(TestNode node, int count)
    {
        await AwaitAssertAsync(() => Assert.True(node.Intake.Offered.Count >= count, $"{node.Intake.Offered.Count} of {count} offered"), Deadline);
        return node.Intake.Offered.ToArray();
    }

    private static async Task<IActorRef?> Entity(TestNode node, string path)
    {
        var id = await node.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), TimeSpan.FromSeconds(5));
        return id.Subject;
    }

    [Fact]
    public async Task Should_answer_a_wake_as_settled_only_when_every_file_is_indexed_or_failed()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0)));
        var work = await WaitForWork(node, 1);

        node.ModelRuns.Tell(new WakeModelRun(Run), TestActor);
        Assert.False(ExpectMsg<ModelRunWoken>(Deadline).Settled);

        await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, work[0].File, 1));
        node.ModelRuns.Tell(new WakeModelRun(Run), TestActor);
        Assert.Equal(new ModelRunWoken(Run, true), ExpectMsg<ModelRunWoken>(Deadline));
    }

}
