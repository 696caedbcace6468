using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.Host.Management;

/// <summary>
/// <c>/healthz</c> (every check), <c>/healthz/live</c> (the process answers) and <c>/healthz/ready</c> (this member
/// is Up, the journal is reachable, configured brokers are connected: every check tagged <see cref="Ready"/>).
/// Probes never need a token.
/// </summary>
public static class HealthEndpoints
{
    public const string Live = "live";
    public const string Ready = "ready";

    public static IHealthChecksBuilder AddPipelineHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("answering"), tags: [Live])
            .AddCheck<ClusterMemberUpCheck>("cluster-member", tags: [Ready])
            .AddCheck<JournalHealthCheck>("journal", tags: [Ready])
            .AddCheck<SourcesHealthCheck>("sources", tags: [Ready]);

    public static IEndpointRouteBuilder MapPipelineHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = Write }).WithTags("health");
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Live), ResponseWriter = Write }).WithTags("health");
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = Write }).WithTags("health");
        return app;
    }

    private static Task Write(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new
            {
                name = e.Key,
                status = e.Value.Status.ToString(),
                description = e.Value.Description ?? e.Value.Exception?.Message,
            }),
        }, JsonSerializerOptions.Web);
    }

    /// <summary>Ready only while this node is an Up member of its cluster.</summary>
    private sealed class ClusterMemberUpCheck(ActorSystem system) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var self = Cluster.Get(system).SelfMember;
            return Task.FromResult(self.Status == MemberStatus.Up
                ? HealthCheckResult.Healthy($"{self.Address} is Up")
                : HealthCheckResult.Unhealthy($"{self.Address} is {self.Status}"));
        }
    }
}

/// <summary>Ready when every configured source runs and every AMQP source holds an open connection.</summary>
public sealed class SourcesHealthCheck(Pipeline.Host.Ingest.IngestService ingest) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = ingest.NotReady();
        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy($"{ingest.Sources.Count} sources running")
            : HealthCheckResult.Unhealthy(string.Join("; ", problems)));
    }
}
