using System.CommandLine;
using Spectre.Console;

namespace Pipeline.Cli.Commands;

/// <summary><c>cluster show|leave|down</c> and <c>shards REGION</c>.</summary>
public static class ClusterCommands
{
    public static Command Cluster(Func<string, string?> env)
    {
        var show = new Command("show", "Members of the cluster, their status and roles, the leader and the oldest");
        show.Run(env, async (_, ctx, cancel) =>
        {
            var members = await ctx.Client.GetAsync("/cluster/members", cancel);
            ctx.Show(members, m =>
            {
                var table = new Table().AddColumns("node", "status", "roles", "");
                var leader = m.Text("leader");
                var oldest = m.Text("oldest");
                foreach (var member in m.GetProperty("members").EnumerateArray())
                {
                    var node = member.Text("node");
                    var marks = string.Join(" ", new[] { node == leader ? "leader" : null, node == oldest ? "oldest" : null, node == m.Text("selfNode") ? "self" : null }.OfType<string>());
                    table.AddRow(Markup.Escape(node), member.Text("status"),
                        Markup.Escape(string.Join(",", member.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))), marks);
                }
                foreach (var unreachable in m.GetProperty("unreachable").EnumerateArray())
                    table.AddRow(Markup.Escape(unreachable.Text("node")), "Unreachable", "", "");
                ctx.Console.Write(table);
            });
        });

        var cluster = new Command("cluster", "Cluster membership") { show };
        cluster.Subcommands.Add(Operation(env, "leave", "Make a member leave the cluster gracefully (its shards move elsewhere)"));
        cluster.Subcommands.Add(Operation(env, "down", "Mark an unreachable member down (use only when it is really gone)"));
        return cluster;
    }

    public static Command Shards(Func<string, string?> env)
    {
        var region = new Argument<string>("REGION") { Description = "Shard region name, e.g. model-run" };
        var command = new Command("shards", "Shards and entities per node for a shard region") { region };
        command.Run(env, async (parse, ctx, cancel) =>
        {
            var shards = await ctx.Client.GetAsync("/cluster/shards/" + Uri.EscapeDataString(parse.GetValue(region)!), cancel);
            ctx.Show(shards, s =>
            {
                var table = new Table().AddColumns("node", "shards", "entities", "failed");
                foreach (var node in s.GetProperty("nodes").EnumerateArray())
                {
                    var list = node.GetProperty("shards").EnumerateArray().ToList();
                    table.AddRow(Markup.Escape(node.Text("address")), list.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        list.Sum(x => x.GetProperty("entities").GetInt32()).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Markup.Escape(string.Join(",", node.GetProperty("failed").EnumerateArray().Select(f => f.GetString()))));
                }
                ctx.Console.Write(table);
            });
        });
        return command;
    }

    private static Command Operation(Func<string, string?> env, string operation, string description)
    {
        var address = new Argument<string>("ADDRESS") { Description = "Member address: akka.tcp://pipeline@host:port or pipeline@host:port" };
        var command = new Command(operation, description) { address };
        command.Run(env, async (parse, ctx, cancel) =>
        {
            var result = await ctx.Client.PutFormAsync("/cluster/members/" + Uri.EscapeDataString(parse.GetValue(address)!),
                [new("operation", operation)], cancel);
            ctx.Show(result, r => ctx.Console.WriteLine(r.Text("message")));
        });
        return command;
    }
}
