using Akka.Actor;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Persistence;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

/// <summary>
/// Journals written before admissions were batched hold one <see cref="FileAdmitted"/> (MRE1) per file and one
/// <see cref="RunSeen"/> (DSE3) per run: they must still recover, and new events go on after them.
/// </summary>
public sealed class LegacyJournalSpecs : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly DateTimeOffset T = RefTime.AddMinutes(30);
    private readonly string _dir = TempDir();

    void IDisposable.Dispose()
    {
        Shutdown();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Should_recover_and_redrive_the_run_when_the_journal_holds_per_file_admission_events()
    {
        var catalog = CatalogOf();
        var old = new[] { Request("TMP", 0), Request("TMP", 3), Request("TMP", 6) };
        await using (var writer = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var events = old.Select(i => (object)new FileAdmitted(FileId.Of(i.Announcement), i.Announcement, i.Variable, i.Step, i.Key, T))
                .Append(new FileIndexed(FileId.Of(old[0].Announcement), 5, T.AddMinutes(1))).ToArray();
            await Write(writer.System, "model-run-" + Run, events);
            await Write(writer.System, "data-stream-" + DatasetName, [new RunSeen(Run, T)]);
        }

        Assert.Equal(["MRE1", "MRE1", "MRE1", "MRE3"], Manifests("model-run-" + Run));
        Assert.Equal(["DSE3"], Manifests("data-stream-" + DatasetName));

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal((1, 2, 0), (view.Indexed, view.Admitted, view.Generation));
            // The recovered entity re-drives what it admitted but never saw indexed.
            await AwaitAssertAsync(() => Assert.Equal(["TMP/003", "TMP/006"], node.Intake.Offered.Select(w => w.Key).Order()), Deadline);

            var again = await node.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(new DatasetId(DatasetName),
                [old[1].Announcement, Announcement("TMP", 9)]));
            Assert.Equal([AdmissionVerdict.Duplicate, AdmissionVerdict.Admitted], again.Outcomes.Select(o => o.Verdict));
            var runs = await node.Ask<DataStreamRuns>(new GetDataStreamRuns(new DatasetId(DatasetName)));
            Assert.Equal([Run], runs.Runs);
        }

        // New admissions are one batch event after the per-file ones, and the mixed journal recovers too.
        Assert.Equal(["MRE1", "MRE1", "MRE1", "MRE3", "MRE9"], Manifests("model-run-" + Run));
        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal(["TMP/000", "TMP/003", "TMP/006", "TMP/009"], view.Files.Select(f => f.Key).Order());
            Assert.Equal((1, 3), (view.Indexed, view.Admitted));
        }
    }

    [Fact]
    public async Task Should_recover_the_run_from_its_snapshot_when_an_older_build_wrote_the_snapshot_as_json()
    {
        var catalog = CatalogOf();
        var old = new[] { Request("TMP", 0), Request("TMP", 3), Request("TMP", 6) };
        var admitted = new FilesAdmitted(old.Select(i => new AdmittedFile(FileId.Of(i.Announcement), i.Announcement, i.Variable, i.Step, i.Key)).ToArray(), T);
        var indexed = new FileIndexed(FileId.Of(old[0].Announcement), 5, T.AddMinutes(1));
        var snapshot = ModelRunState.Empty(Run).Apply(admitted).Apply(indexed);
        await using (var writer = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            await Write(writer.System, "model-run-" + Run, [admitted, indexed], snapshot);
            // After the snapshot: one more file indexed, which only the journal knows.
            await Write(writer.System, "model-run-" + Run, [new FileIndexed(FileId.Of(old[1].Announcement), 5, T.AddMinutes(2))]);
        }

        // What an older build left: the same snapshot, as JSON under MRS1.
        Assert.Equal("MRS2", RewriteSnapshotAsJson("model-run-" + Run, snapshot));

        await using (var node = await TestNode.StartAsync(Sqlite(_dir), catalog))
        {
            var view = await node.Ask<ModelRunView>(new GetModelRun(Run));
            Assert.Equal((2, 1), (view.Indexed, view.Admitted));
            await AwaitAssertAsync(() => Assert.Equal(["TMP/006"], node.Intake.Offered.Select(w => w.Key)), Deadline);
        }
    }

    /// <summary>Persists <paramref name="events"/> under <paramref name="persistenceId"/>, as an older build of the entity did.</summary>
    private static async Task Write(ActorSystem system, string persistenceId, IReadOnlyList<object> events, object? snapshot = null)
    {
        var writer = system.ActorOf(Props.Create(() => new JournalWriter(persistenceId, events, snapshot)));
        await writer.Ask<string>("write", TimeSpan.FromSeconds(30));
        await writer.GracefulStop(TimeSpan.FromSeconds(10));
    }

    /// <summary>Replaces the entity's one snapshot with the JSON of <paramref name="state"/> (MRS1); returns the manifest it had.</summary>
    private string RewriteSnapshotAsJson(string persistenceId, ModelRunState state)
    {
        using var db = new SqliteConnection(PipelinePersistence.PrepareSqlite(Sqlite(_dir)));
        db.Open();
        using var read = db.CreateCommand();
        read.CommandText = "SELECT manifest FROM snapshot WHERE persistence_id = $id";
        read.Parameters.AddWithValue("$id", persistenceId);
        var manifest = (string)read.ExecuteScalar()!;
        using var write = db.CreateCommand();
        write.CommandText = "UPDATE snapshot SET snapshot = $json, manifest = $manifest WHERE persistence_id = $id";
        write.Parameters.AddWithValue("$id", persistenceId);
        write.Parameters.AddWithValue("$json", Pipeline.Actors.Serialization.PipelineSerializer.ToJson(state));
        write.Parameters.AddWithValue("$manifest", Pipeline.Actors.Serialization.PipelineSerializer.LegacyJsonSnapshot);
        Assert.Equal(1, write.ExecuteNonQuery());
        return manifest;
    }

    private List<string> Manifests(string persistenceId)
    {
        using var db = new SqliteConnection(PipelinePersistence.PrepareSqlite(Sqlite(_dir)));
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT manifest FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        cmd.Parameters.AddWithValue("$id", persistenceId);
        using var reader = cmd.ExecuteReader();
        var manifests = new List<string>();
        while (reader.Read()) manifests.Add(reader.GetString(0));
        return manifests;
    }

    private sealed class JournalWriter : ReceivePersistentActor
    {
        public JournalWriter(string persistenceId, IReadOnlyList<object> events, object? snapshot)
        {
            PersistenceId = persistenceId;
            IActorRef? waiting = null;
            Recover<object>(_ => { });
            Command<string>(_ =>
            {
                waiting = Sender;
                PersistAll(events, PersistBatch.ThenAfterLast<object>(events.Count, _ => { }, () =>
                {
                    if (snapshot is null) waiting.Tell("written");
                    else SaveSnapshot(snapshot);
                }));
            });
            Command<SaveSnapshotSuccess>(_ => waiting?.Tell("written"));
            Command<SaveSnapshotFailure>(f => waiting?.Tell(new Status.Failure(f.Cause)));
        }

        public override string PersistenceId { get; }
    }
}
