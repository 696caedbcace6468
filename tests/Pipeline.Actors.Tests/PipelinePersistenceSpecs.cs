using LinqToDB;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Persistence;
using Pipeline.Testing;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class PipelinePersistenceSpecs : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _dir = TempDir();

    void IDisposable.Dispose()
    {
        Shutdown();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Should_keep_the_journal_in_a_wal_sqlite_file_under_the_data_directory_when_embedded()
    {
        var dataDir = Path.Combine(_dir, "nested", "data");
        await using (var node = await TestNode.StartAsync(Sqlite(dataDir), CatalogOf()))
            await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3)));

        var file = Path.Combine(dataDir, "pipeline.db");
        Assert.True(File.Exists(file));
        await using var db = new SqliteConnection($"Data Source={file}");
        db.Open();
        Assert.Equal("wal", Scalar(db, "PRAGMA journal_mode;"));
        // Both admissions of the batch are one row.
        Assert.Equal(1L, Scalar(db, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'model-run-" + Run + "'"));
    }

    [Theory]
    [InlineData(SqliteSynchronous.Normal, 1L)]
    [InlineData(SqliteSynchronous.Full, 2L)]
    public void Should_open_journal_connections_with_the_configured_synchronous_when_sqlite(SqliteSynchronous synchronous, long expected)
    {
        var connection = PipelinePersistence.PrepareSqlite(new PipelinePersistenceOptions { DataDirectory = _dir });

        // The journal's connections come from these options; pooled connections are reopened and must get it again.
        for (var open = 0; open < 2; open++)
        {
            using var db = new LinqToDB.Data.DataConnection(PipelinePersistence.SqliteDataOptions(connection, synchronous));
            Assert.Equal(expected, db.Execute<long>("PRAGMA synchronous;"));
            Assert.Equal("wal", db.Execute<string>("PRAGMA journal_mode;"));
        }
    }

    [Fact]
    public void Should_name_the_setting_when_the_persistence_options_are_invalid()
    {
        var e = Assert.Throws<ArgumentException>(() => PipelinePersistence.Config(new PipelinePersistenceOptions
            { Provider = PersistenceProvider.PostgreSql, Schema = "x; drop table" }));

        Assert.Contains("Pipeline:Persistence:ConnectionString", e.Message);
        Assert.Contains("Pipeline:Persistence:Schema", e.Message);
        Assert.Contains("Pipeline:Persistence:SqliteFile",
            Assert.Throws<ArgumentException>(() => PipelinePersistence.Config(new PipelinePersistenceOptions { SqliteFile = "" })).Message);
    }

    [Fact]
    public void Should_quote_values_so_a_connection_string_cannot_inject_configuration()
    {
        var config = PipelinePersistence.Config(new PipelinePersistenceOptions
        {
            Provider = PersistenceProvider.PostgreSql,
            ConnectionString = "Host=h;Password=\"a}\nakka.loglevel=DEBUG{\"",
        });

        Assert.Equal("Host=h;Password=\"a}\nakka.loglevel=DEBUG{\"", config.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal(PipelinePersistence.PostgreSqlProvider, config.GetString("akka.persistence.snapshot-store.sql.provider-name"));
        Assert.Equal("public", config.GetString("akka.persistence.journal.sql.default.schema-name"));
        Assert.Equal("Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql", config.GetString("akka.persistence.journal.sql.class"));
    }

    [ServiceFact(Service.PostgreSql)]
    public async Task Should_recover_state_and_redrive_unfinished_files_when_the_journal_is_postgresql()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var catalog = CatalogOf();
        await using (var node = await TestNode.StartAsync(database.Options, catalog, new ModelRunSettings { SnapshotEvery = 2 }))
        {
            var result = await node.Ask<AdmitFilesResult>(Admit(Request("TMP", 0), Request("TMP", 3), Request("TMP", 6)));
            Assert.All(result.Outcomes, o => Assert.Equal(AdmissionVerdict.Admitted, o.Verdict));
            await AwaitAssertAsync(() => Assert.Equal(3, node.Intake.Offered.Count), Deadline);
            await node.Ask<MilestoneAck>(new ReportFileIndexed(Run, node.Intake.Offered.First().File, 1));
            // Snapshots are saved asynchronously: wait for one while the node is up, not after it has stopped.
            await AwaitAssertAsync(async () => Assert.True(await database.CountAsync("SELECT COUNT(*) FROM public.snapshot") >= 1), Deadline);
            // The DataStream is not involved here: one row for the batch of three admissions, one for the milestone.
            // The snapshot covers both, so they are deleted (the last row stays, marked deleted, for the sequence numbers).
            await AwaitAssertAsync(async () => Assert.Equal(0, await database.CountAsync("SELECT COUNT(*) FROM public.journal WHERE NOT deleted")), Deadline);
        }

        Assert.Equal(1, await database.CountAsync("SELECT COUNT(*) FROM public.journal"));

        await using var again = await TestNode.StartAsync(database.Options, catalog);
        var view = await again.Ask<ModelRunView>(new GetModelRun(Run));
        Assert.Equal((1, 2), (view.Indexed, view.Admitted));
        await AwaitAssertAsync(() => Assert.Equal(2, again.Intake.Offered.Count), Deadline);
        var dup = await again.Ask<AdmitFilesResult>(Admit(Request("TMP", 3)));
        Assert.Equal(AdmissionVerdict.Duplicate, Assert.Single(dup.Outcomes).Verdict);
    }

    private static object? Scalar(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }
}
