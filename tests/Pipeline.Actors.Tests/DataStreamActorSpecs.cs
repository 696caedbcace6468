using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Sharding;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class DataStreamActorSpecs : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly DatasetId Id = new(DatasetName);
    private readonly string _dir = TempDir();

    void IDisposable.Dispose()
    {
        Shutdown();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Should_route_each_announcement_to_its_run_and_answer_in_order_when_running()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        var batch = new[]
        {
            Announcement("TMP", 0), Announcement("TMP", 0, runHour: "12"), Announcement("TMP", 0),
            Announcement("TMP", 3) with { RelPath = "elsewhere/readme.txt", DataId = "elsewhere/readme.txt" },
        };

        var result = await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id, batch));

        Assert.Equal([AdmissionVerdict.Admitted, AdmissionVerdict.Admitted, AdmissionVerdict.Duplicate, AdmissionVerdict.Rejected],
            result.Outcomes.Select(o => o.Verdict));
        Assert.Contains("elsewhere/readme.txt", result.Outcomes[3].Reason);
        var run12 = await node.Ask<ModelRunView>(new GetModelRun(Run with { ReferenceTime = RefTime.AddHours(12) }));
        Assert.Single(run12.Files);
        var run00 = await node.Ask<ModelRunView>(new GetModelRun(Run));
        Assert.Equal("TMP/000", Assert.Single(run00.Files).Key);
        await AwaitAssertAsync(async () =>
        {
            var status = await node.Ask<DataStreamStatus>(new GetDataStream(Id));
            Assert.Equal((4L, 2L, 1L, 1L, 2), (status.Announced, status.Admitted, status.Duplicates, status.Rejected, status.KnownRuns));
            Assert.NotNull(status.LastSeenAt);
            Assert.NotNull(status.LagSeconds);
        }, Deadline);
    }

    [Fact]
    public async Task Should_defer_admissions_while_paused_and_remember_the_pause_across_restarts()
    {
        var catalog = CatalogOf();
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var paused = await node.Ask<DataStreamStatus>(new PauseDataStream(Id, "upstream outage"));
            Assert.True(paused.Paused);
            var result = await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id, [Announcement("TMP", 0)]));
            var outcome = Assert.Single(result.Outcomes);
            Assert.Equal(AdmissionVerdict.Deferred, outcome.Verdict);
            Assert.Contains("upstream outage", outcome.Reason);
            Assert.Empty(node.Intake.Offered);
        }

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var status = await node.Ask<DataStreamStatus>(new GetDataStream(Id));
            Assert.Equal((true, "upstream outage"), (status.Paused, status.PauseReason));
            var resumed = await node.Ask<DataStreamStatus>(new ResumeDataStream(Id));
            Assert.False(resumed.Paused);
            var result = await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id, [Announcement("TMP", 0)]));
            Assert.Equal(AdmissionVerdict.Admitted, Assert.Single(result.Outcomes).Verdict);
        }
    }

    [Fact]
    public async Task Should_refresh_the_known_runs_in_a_time_window_when_asked()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id,
            [Announcement("TMP", 0), Announcement("TMP", 0, runHour: "06"), Announcement("TMP", 0, date: "20261103")]));
        await AwaitAssertAsync(() => Assert.Equal(3, node.Intake.Offered.Count), Deadline);

        var accepted = await node.Ask<RefreshWindowAccepted>(new RefreshWindow(Id, RefTime, RefTime.AddDays(1), "bad upstream files"));

        Assert.Equal([Run, Run with { ReferenceTime = RefTime.AddHours(6) }], accepted.Runs);
        await AwaitAssertAsync(() => Assert.Equal(5, node.Intake.Offered.Count), Deadline);
        Assert.All(node.Intake.Offered.Skip(3), w => Assert.Equal(1, w.Generation));
    }

    [Fact]
    public async Task Should_record_counters_and_recover_them_when_restarted()
    {
        var catalog = CatalogOf();
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id, [Announcement("TMP", 0), Announcement("TMP", 3)]));
            // Counters are recorded every 200 ms in these tests; wait until a record holds them (visible as a rate).
            var step = 3;
            await AwaitAssertAsync(async () =>
            {
                await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id, [Announcement("TMP", ++step)]));
                var s = await node.Ask<DataStreamStatus>(new GetDataStream(Id));
                Assert.True(s.AdmittedPerSecond > 0, $"rate {s.AdmittedPerSecond}");
            }, Deadline, TimeSpan.FromMilliseconds(250));
        }

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var status = await node.Ask<DataStreamStatus>(new GetDataStream(Id));
            Assert.True(status.Admitted >= 3, $"{status.Admitted} admitted after the restart");
            Assert.Equal(status.Announced, status.Admitted);
            Assert.Equal(1, status.KnownRuns);
        }
    }

    [Fact]
    public async Task Should_restart_a_run_that_stopped_with_work_left_when_nothing_else_is_sent_to_it()
    {
        await using var node = await TestNode.StartAsync(Sqlite(_dir), CatalogOf());
        await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(Id, [Announcement("TMP", 0), Announcement("TMP", 3)]));
        await AwaitAssertAsync(() => Assert.Equal(2, node.Intake.Offered.Count), Deadline);

        // What a node crash does to a ModelRun: the entity is gone, and its runs are not remembered entities.
        var entity = await node.System.ActorSelection($"/user/{ModelRunHostingExtensions.TypeName}/{LocalEntityRegion.ChildName(Run.ToString())}")
            .ResolveOne(TimeSpan.FromSeconds(10));
        Watch(entity);
        entity.Tell(Akka.Actor.Kill.Instance, Akka.Actor.ActorRefs.NoSender);
        ExpectTerminated(entity, Deadline);

        // The data stream wakes the run it admitted into, which recovers and re-drives both files.
        await AwaitAssertAsync(() => Assert.Equal(["TMP/000", "TMP/000", "TMP/003", "TMP/003"], node.Intake.Offered.Select(w => w.Key).Order()),
            Deadline);
    }
}
