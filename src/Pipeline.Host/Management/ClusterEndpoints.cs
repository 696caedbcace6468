using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Microsoft.Extensions.Options;
using Pipeline.Host.Configuration;

namespace Pipeline.Host.Management;

/// <summary>
/// Cluster membership and sharding over HTTP, on the paths of Akka Management on the JVM:
/// <c>GET /cluster/members</c>, <c>GET|PUT|DELETE /cluster/members/{address}</c>, <c>GET /cluster/shards/{region}</c>.
/// </summary>
public static class ClusterEndpoints
{
    public sealed record MemberView(string Node, string NodeUid, string Status, IReadOnlyList<string> Roles);

    public sealed record UnreachableView(string Node, IReadOnlyList<string> ObservedBy);

    public sealed record MembersView(
        string SelfNode, string SelfStatus, string? Leader, string? Oldest,
        IReadOnlyList<MemberView> Members, IReadOnlyList<UnreachableView> Unreachable);

    public sealed record MemberOperationResult(string Message);

    public sealed record ShardView(string ShardId, int Entities);

    public sealed record RegionNodeView(string Address, IReadOnlyList<ShardView> Shards, IReadOnlyList<string> Failed);

    public sealed record ShardsView(string Region, IReadOnlyList<RegionNodeView> Nodes);

    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/cluster").WithTags("cluster").AnswerBusyOnAskTimeout();

        group.MapGet("/members", (ActorSystem system) => Members(Cluster.Get(system)))
            .RequireReadAccess().WithSummary("All members, unreachable ones, leader and oldest");

        group.MapGet("/members/{**address}", (string address, ActorSystem system) =>
                Find(Cluster.Get(system), address) is { } member
                    ? Results.Ok(View(member))
                    : NotAMember(address))
            .RequireReadAccess().WithSummary("One member");

        group.MapPut("/members/{**address}", async (string address, HttpRequest request, ActorSystem system) =>
            {
                string? operation = request.Query["operation"];
                if (operation is null && request.HasFormContentType)
                    operation = (await request.ReadFormAsync()).TryGetValue("operation", out var value) ? value.ToString() : null;
                return Operate(Cluster.Get(system), address, operation);
            })
            .RequireWriteToken().WithSummary("operation=leave|down (form field or query)");

        group.MapDelete("/members/{**address}", (string address, ActorSystem system) => Operate(Cluster.Get(system), address, "leave"))
            .RequireWriteToken().WithSummary("Make the member leave");

        group.MapGet("/shards/{region}", async (string region, ActorSystem system, IOptions<PipelineSettings> settings, CancellationToken cancel) =>
            {
                IActorRef shardRegion;
                try
                {
                    shardRegion = ClusterSharding.Get(system).ShardRegion(region);
                }
                catch (ArgumentException)
                {
                    return Results.Problem(title: "Unknown shard region", statusCode: StatusCodes.Status404NotFound,
                        detail: $"no shard region '{region}' is started on this node; known: {string.Join(", ", ClusterSharding.Get(system).ShardTypeNames)}");
                }
                var timeout = settings.Value.Management.AskTimeout;
                var stats = await shardRegion.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout, cancel);
                return Results.Ok(new ShardsView(region, stats.Regions
                    .OrderBy(r => r.Key.ToString(), StringComparer.Ordinal)
                    .Select(r => new RegionNodeView(
                        r.Key.ToString(),
                        r.Value.Stats.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new ShardView(s.Key, s.Value)).ToList(),
                        r.Value.Failed.Order(StringComparer.Ordinal).ToList()))
                    .ToList()));
            })
            .RequireReadAccess().WithSummary("Shards and entity counts per node for a shard region");

        return app;
    }

    public static MembersView Members(Cluster cluster)
    {
        var state = cluster.State;
        var oldest = state.Members.Where(m => m.Status == MemberStatus.Up)
            .OrderBy(m => m, Member.AgeOrdering).FirstOrDefault();
        return new MembersView(
            cluster.SelfAddress.ToString(),
            cluster.SelfMember.Status.ToString(),
            state.Leader?.ToString(),
            oldest?.Address.ToString(),
            state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(View).ToList(),
            state.Unreachable.Select(m => new UnreachableView(m.Address.ToString(),
                    [.. state.SeenBy.Where(seen => seen != m.Address).Select(a => a.ToString()).Order(StringComparer.Ordinal)]))
                .ToList());
    }

    private static MemberView View(Member member) => new(
        member.Address.ToString(), member.UniqueAddress.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture),
        member.Status.ToString(), member.Roles.Order(StringComparer.Ordinal).ToList());

    /// <summary>Finds a member by its full address (<c>akka.tcp://pipeline@host:port</c>) or by <c>system@host:port</c>.</summary>
    internal static Member? Find(Cluster cluster, string address)
    {
        var wanted = Uri.UnescapeDataString(address).Trim().TrimEnd('/');
        return cluster.State.Members.Concat(cluster.State.Unreachable).FirstOrDefault(m =>
        {
            var full = m.Address.ToString();
            return string.Equals(full, wanted, StringComparison.OrdinalIgnoreCase) ||
                   string.Equals(full[(full.IndexOf("://", StringComparison.Ordinal) + 3)..], wanted, StringComparison.OrdinalIgnoreCase);
        });
    }

    private static IResult Operate(Cluster cluster, string address, string? operation)
    {
        if (Find(cluster, address) is not { } member) return NotAMember(address);
        switch (operation?.Trim().ToLowerInvariant())
        {
            case "leave":
                cluster.Leave(member.Address);
                return Results.Ok(new MemberOperationResult($"Leaving {member.Address}"));
            case "down":
                cluster.Down(member.Address);
                return Results.Ok(new MemberOperationResult($"Downing {member.Address}"));
            default:
                return Results.Problem(title: "Unknown operation", statusCode: StatusCodes.Status400BadRequest,
                    detail: $"operation must be 'leave' or 'down' (got '{operation ?? "nothing"}')");
        }
    }

    private static IResult NotAMember(string address) => Results.Problem(title: "Not a member",
        statusCode: StatusCodes.Status404NotFound, detail: $"no member of this cluster has address '{Uri.UnescapeDataString(address)}'");
}
