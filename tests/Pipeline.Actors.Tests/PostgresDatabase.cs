using Npgsql;
using Pipeline.Actors.Persistence;
using Pipeline.Testing;

namespace Pipeline.Actors.Tests;

/// <summary>A fresh PostgreSQL database on the harness's server for one test; dropped when disposed.</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private PostgresDatabase(string admin, string name, string connectionString)
    {
        _admin = admin;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public PipelinePersistenceOptions Options => new() { Provider = PersistenceProvider.PostgreSql, ConnectionString = ConnectionString };

    public static async Task<PostgresDatabase> CreateAsync()
    {
        var admin = TestServices.Get(Service.PostgreSql);
        var name = "pipeline_actors_" + Guid.NewGuid().ToString("N")[..12];
        await using (var db = new NpgsqlConnection(admin))
        {
            await db.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", db);
            await create.ExecuteNonQueryAsync();
        }

        return new PostgresDatabase(admin, name, new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var db = new NpgsqlConnection(ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, db);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var db = new NpgsqlConnection(_admin);
        await db.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", db);
        await drop.ExecuteNonQueryAsync();
    }
}
