using System.CommandLine;
using Spectre.Console;

namespace Pipeline.Cli.Commands;

/// <summary><c>deadletters list|replay</c>: parked messages and why, and sending them through again.</summary>
public static class DeadLetterCommands
{
    public static Command Build(Func<string, string?> env)
    {
        var source = new Option<string?>("--source") { Description = "Only letters from this source" };
        var reason = new Option<string?>("--reason") { Description = "Only letters whose reason contains this text" };
        var limit = new Option<int>("--limit") { Description = "At most this many", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Parked messages, oldest first, with the reason") { source, reason, limit };
        list.Run(env, async (parse, ctx, cancel) =>
        {
            var query = new List<string> { "limit=" + parse.GetValue(limit) };
            if (parse.GetValue(source) is { } s) query.Add("source=" + Uri.EscapeDataString(s));
            if (parse.GetValue(reason) is { } r) query.Add("reason=" + Uri.EscapeDataString(r));
            var page = await ctx.Client.GetAsync("/api/deadletters?" + string.Join("&", query), cancel);
            ctx.Show(page, p =>
            {
                ctx.Console.WriteLine($"{p.Text("total")} parked");
                var table = new Table().AddColumns("id", "at", "source", "reason");
                foreach (var l in p.GetProperty("letters").EnumerateArray())
                    table.AddRow(Markup.Escape(l.Text("id")), l.Text("at"), Markup.Escape(l.Text("source")), Markup.Escape(l.Text("reason")));
                ctx.Console.Write(table);
            });
        });

        var ids = new Option<string[]>("--id") { Description = "Replay these letters (repeatable)", AllowMultipleArgumentsPerToken = true };
        var replaySource = new Option<string?>("--source") { Description = "Replay every letter from this source" };
        var replayReason = new Option<string?>("--reason") { Description = "Replay every letter whose reason contains this text" };
        var replay = new Command("replay", "Send parked messages through the pipeline again (re-sent ones are removed)") { ids, replaySource, replayReason };
        replay.Run(env, async (parse, ctx, cancel) =>
        {
            var body = new { ids = parse.GetValue(ids), source = parse.GetValue(replaySource), reason = parse.GetValue(replayReason) };
            var report = await ctx.Client.PostAsync("/api/deadletters/replay", body, cancel);
            ctx.Show(report, r =>
            {
                ctx.Console.WriteLine($"selected {r.Text("selected")}, replayed {r.Text("replayed")}");
                foreach (var f in r.GetProperty("failed").EnumerateArray())
                    ctx.Console.WriteLine($"  not replayed {f.Text("id")}: {f.Text("reason")}");
            });
        });

        var command = new Command("deadletters", "Parked messages: list and replay");
        command.Subcommands.Add(list);
        command.Subcommands.Add(replay);
        return command;
    }
}
