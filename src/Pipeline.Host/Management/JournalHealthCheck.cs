using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Pipeline.Actors.Persistence;
using Pipeline.Host.Configuration;

namespace Pipeline.Host.Management;

/// <summary>Ready only while the journal's database answers a query (never reporting its connection string).</summary>
public sealed class JournalHealthCheck(IOptions<PipelineSettings> settings) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var options = settings.Value.Persistence;
        try
        {
            await using DbConnection connection = options.Provider == PersistenceProvider.PostgreSql
                ? new NpgsqlConnection(options.ConnectionString)
                : new SqliteConnection(options.ConnectionString ?? SqliteConnectionString(options));
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{options.Provider} journal answers");
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or IOException)
        {
            return HealthCheckResult.Unhealthy($"{options.Provider} journal does not answer: {e.GetType().Name}");
        }
    }

    private static string SqliteConnectionString(PipelinePersistenceOptions options) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(Path.GetFullPath(options.DataDirectory), options.SqliteFile),
        Mode = SqliteOpenMode.ReadWrite,
    }.ToString();
}
