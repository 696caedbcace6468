using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.IntegrationTests.Smoke;

/// <summary>
/// A persistent actor writes events through Akka.Persistence.Sql and recovers them after its actor system
/// restarts, on SQLite (the embedded default) and on PostgreSQL (the cluster journal).
/// </summary>
public sealed class PersistenceSmokeSpecs
{
    [Fact]
    public async Task Should_recover_events_after_restart_when_journal_is_sqlite()
    {
        var dir = Directory.CreateTempSubdirectory("pipeline-sqlite-");
        try
        {
            await RoundTrip($"Data Source={Path.Combine(dir.FullName, "journal.db")}", "SQLite.MS");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [ServiceFact(Service.PostgreSql)]
    public async Task Should_recover_events_after_restart_when_journal_is_postgresql()
    {
        // A database of its own, so no other suite's tables or load on the shared one can interfere.
        var database = "smoke_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new Npgsql.NpgsqlConnection(TestServices.PostgreSql))
        {
            await admin.OpenAsync();
            await using var create = admin.CreateCommand();
            create.CommandText = $"CREATE DATABASE {database}";
            await create.ExecuteNonQueryAsync();
        }
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(TestServices.PostgreSql) { Database = database }.ToString();
        await RoundTrip(connection, "PostgreSQL.15");
    }

    private static async Task RoundTrip(string connectionString, string provider)
    {
        var id = "smoke-" + Guid.NewGuid().ToString("N");
        var first = Start(connectionString, provider);
        try
        {
            var actor = first.ActorOf(Props.Create(() => new Counter(id)));
            for (var i = 1; i <= 5; i++)
                Assert.Equal(i, await actor.Ask<int>(new Add(i), TimeSpan.FromSeconds(120)));
        }
        finally
        {
            await first.Terminate();
        }

        var second = Start(connectionString, provider);
        try
        {
            var actor = second.ActorOf(Props.Create(() => new Counter(id)));
            // Recovered: the five events come back in order, so the sum and the count are right.
            Assert.Equal((5, 15), await actor.Ask<(int, int)>(Read.Instance, TimeSpan.FromSeconds(120)));
        }
        finally
        {
            await second.Terminate();
        }
    }

    private static ActorSystem Start(string connectionString, string provider)
    {
        var quoted = connectionString.Replace("\"", "\\\"", StringComparison.Ordinal);
        var config = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.sql"
            akka.persistence.journal.sql { connection-string = "{{quoted}}", provider-name = "{{provider}}", auto-initialize = on }
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
            akka.persistence.snapshot-store.sql { connection-string = "{{quoted}}", provider-name = "{{provider}}", auto-initialize = on }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
        return ActorSystem.Create("smoke", config);
    }

    private sealed record Add(int Value);

    private sealed class Read
    {
        public static readonly Read Instance = new();
    }

    private sealed class Counter : ReceivePersistentActor
    {
        private int _count;
        private int _sum;

        public Counter(string id)
        {
            PersistenceId = id;
            Recover<int>(v => { _count++; _sum += v; });
            Command<Add>(add => Persist(add.Value, v =>
            {
                _count++;
                _sum += v;
                Sender.Tell(_count);
            }));
            Command<Read>(_ => Sender.Tell((_count, _sum)));
        }

        public override string PersistenceId { get; }
    }
}
