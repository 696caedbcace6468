using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace Pipeline.Actors.Persistence;

public enum PersistenceProvider
{
    /// <summary>An embedded SQLite file (WAL) under <see cref="PipelinePersistenceOptions.DataDirectory"/>: the single-node default.</summary>
    Sqlite,

    /// <summary>PostgreSQL (the cluster).</summary>
    PostgreSql,
}

/// <summary>SQLite's <c>PRAGMA synchronous</c> for the journal's connections (WAL mode).</summary>
public enum SqliteSynchronous
{
    /// <summary>Commits survive a process crash; fsync at WAL checkpoints only.</summary>
    Normal,

    /// <summary>Every commit is fsynced: survives a power loss too.</summary>
    Full,
}

/// <summary>The <c>Pipeline:Persistence</c> section.</summary>
public sealed record PipelinePersistenceOptions
{
    public const string Section = "Pipeline:Persistence";

    public PersistenceProvider Provider { get; init; } = PersistenceProvider.Sqlite;

    /// <summary>Where the SQLite file lives (created if missing).</summary>
    public string DataDirectory { get; init; } = "./data";

    /// <summary>The SQLite file name inside <see cref="DataDirectory"/>.</summary>
    public string SqliteFile { get; init; } = "pipeline.db";

    /// <summary>The PostgreSQL connection string (Npgsql); for SQLite, overrides the file when set.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The PostgreSQL schema of the journal tables (must exist); default <c>public</c>.</summary>
    public string? Schema { get; init; }

    /// <summary>Create the tables on first use.</summary>
    public bool AutoInitialize { get; init; } = true;

    /// <summary>Most events written in one database round trip (the plugin's default is 100).</summary>
    public int JournalBatchSize { get; init; } = 500;

    /// <summary>Concurrent journal writers; default 1 for SQLite (one writer at a time), 3 for PostgreSQL.</summary>
    public int? JournalParallelism { get; init; }

    /// <summary>
    /// SQLite's <c>synchronous</c> for the journal's connections. <see cref="SqliteSynchronous.Full"/> (the default):
    /// every commit waits for fsync, so an admission acked to the broker survives a power loss or kernel crash too.
    /// <see cref="SqliteSynchronous.Normal"/>: in WAL mode a commit is in the operating system's hands when it returns,
    /// so it survives the process dying (kill -9, a crash), but a power loss can take back the commits since the WAL
    /// was last synced, admissions whose broker messages were already acked among them; about 25 % more admissions a second.
    /// </summary>
    public SqliteSynchronous SqliteSynchronous { get; init; } = SqliteSynchronous.Full;

    /// <summary>Every problem, each naming its key.</summary>
    public IReadOnlyList<string> Errors(string section = Section)
    {
        var errors = new List<string>();
        switch (Provider)
        {
            case PersistenceProvider.Sqlite when ConnectionString is null:
                if (string.IsNullOrWhiteSpace(DataDirectory)) errors.Add($"{section}:DataDirectory: must not be empty for SQLite");
                if (string.IsNullOrWhiteSpace(SqliteFile) || SqliteFile.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                    errors.Add($"{section}:SqliteFile: '{SqliteFile}' is not a file name");
                break;
            case PersistenceProvider.PostgreSql:
                if (string.IsNullOrWhiteSpace(ConnectionString)) errors.Add($"{section}:ConnectionString: required for PostgreSql");
                break;
        }

        if (JournalBatchSize is < 1 or > 10_000) errors.Add($"{section}:JournalBatchSize: must be 1..10000, was {JournalBatchSize}");
        if (JournalParallelism is < 1 or > 64) errors.Add($"{section}:JournalParallelism: must be 1..64, was {JournalParallelism}");
        if (Schema is not null && (Schema.Length == 0 || !Schema.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')))
            errors.Add($"{section}:Schema: '{Schema}' must be letters, digits and '_'");
        return errors;
    }
}

/// <summary>Builds the Akka.Persistence.Sql configuration from typed options (template: persistence.hocon).</summary>
public static class PipelinePersistence
{
    public const string SqliteProvider = "SQLite.MS";
    public const string PostgreSqlProvider = "PostgreSQL.15";

    /// <summary>The journal and snapshot store configuration, with the plugin defaults as fallback.</summary>
    public static Config Config(PipelinePersistenceOptions options)
    {
        var errors = options.Errors();
        if (errors.Count > 0) throw new ArgumentException("invalid persistence options: " + string.Join("; ", errors), nameof(options));

        var (connection, provider, schema) = options.Provider switch
        {
            PersistenceProvider.Sqlite => (options.ConnectionString ?? PrepareSqlite(options), SqliteProvider, ""),
            PersistenceProvider.PostgreSql => (options.ConnectionString!, PostgreSqlProvider, options.Schema ?? "public"),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Provider, "unknown persistence provider"),
        };

        using var stream = typeof(PipelinePersistence).Assembly.GetManifestResourceStream("Pipeline.Actors.Persistence.persistence.hocon")
                           ?? throw new InvalidOperationException("the persistence.hocon template is not embedded in Pipeline.Actors");
        using var reader = new StreamReader(stream);
        var hocon = reader.ReadToEnd()
            .Replace("{{connection-string}}", Quote(connection), StringComparison.Ordinal)
            .Replace("{{provider-name}}", Quote(provider), StringComparison.Ordinal)
            .Replace("{{auto-initialize}}", options.AutoInitialize ? "on" : "off", StringComparison.Ordinal)
            .Replace("{{schema}}", Quote(schema), StringComparison.Ordinal)
            .Replace("{{batch-size}}", options.JournalBatchSize.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{parallelism}}", (options.JournalParallelism ?? (options.Provider == PersistenceProvider.Sqlite ? 1 : 3))
                .ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>Adds the SQL journal and snapshot store (SQLite or PostgreSQL) as the default persistence plugins.</summary>
    public static AkkaConfigurationBuilder AddPipelinePersistence(this AkkaConfigurationBuilder builder, PipelinePersistenceOptions options)
    {
        var config = Config(options);
        builder.AddHocon(config, HoconAddMode.Prepend);
        // SQLite's synchronous is per connection and has no connection-string keyword: every connection the journal,
        // snapshot store and queries open runs the pragma first (linq2db's connection interceptor).
        if (options.Provider == PersistenceProvider.Sqlite)
            builder.AddSetup(new DataOptionsSetup(SqliteDataOptions(config.GetString("akka.persistence.journal.sql.connection-string"), options.SqliteSynchronous)));
        return builder;
    }

    /// <summary>linq2db options for the SQLite journal: the connection string and the <c>synchronous</c> pragma on open.</summary>
    public static DataOptions SqliteDataOptions(string connectionString, SqliteSynchronous synchronous) =>
        new DataOptions().UseConnectionString(SqliteProvider, connectionString).UseInterceptor(new SqlitePragmas(synchronous));

    /// <summary>Sets <c>synchronous</c> on every connection as it opens (pooled connections too: the pragma is cheap).</summary>
    private sealed class SqlitePragmas(SqliteSynchronous synchronous) : ConnectionInterceptor
    {
        private readonly string _sql = "PRAGMA synchronous=" + (synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL") + ";";

        public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = _sql;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = _sql;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The SQLite connection string for the options; creates the directory and switches the file to WAL.</summary>
    public static string PrepareSqlite(PipelinePersistenceOptions options)
    {
        var dir = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dir);
        var connection = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir, options.SqliteFile),
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 60,
        }.ToString();
        using var db = new SqliteConnection(connection);
        db.Open();
        using var wal = db.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = wal.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite file {Path.Combine(dir, options.SqliteFile)} refused WAL mode (got '{mode}')");
        return connection;
    }

    private static string Quote(string value) => JsonSerializer.Serialize(value);
}
