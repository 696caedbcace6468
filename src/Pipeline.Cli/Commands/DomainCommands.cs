using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Pipeline.Cli.Commands;

/// <summary><c>datasets</c>, <c>dataset show|pause|resume|refresh</c>, <c>runs</c>, <c>run show|refresh|announcements</c>, <c>announce</c>, <c>watch</c>.</summary>
public static class DomainCommands
{
    public static Command Datasets(Func<string, string?> env)
    {
        var command = new Command("datasets", "Every configured dataset: paused or running, counters, rate, lag");
        command.Run(env, async (_, ctx, cancel) =>
        {
            var datasets = await ctx.Client.GetAsync("/api/datasets", cancel);
            ctx.Show(datasets, d => ctx.Console.Write(DatasetTable(d.EnumerateArray())));
        });
        return command;
    }

    public static Command Dataset(Func<string, string?> env)
    {
        var command = new Command("dataset", "One dataset");
        command.Subcommands.Add(DatasetAction(env, "show", "State, counters, rate and lag", (ctx, id, cancel) => ctx.Client.GetAsync($"/api/datasets/{id}", cancel)));
        command.Subcommands.Add(DatasetAction(env, "pause", "Stop admitting (announcements stay on the broker)", (ctx, id, cancel) => ctx.Client.PostAsync($"/api/datasets/{id}/pause", null, cancel)));
        command.Subcommands.Add(DatasetAction(env, "resume", "Admit again", (ctx, id, cancel) => ctx.Client.PostAsync($"/api/datasets/{id}/resume", null, cancel)));

        var id = new Argument<string>("ID") { Description = "Dataset id" };
        var from = new Option<string>("--from") { Description = "First reference time, ISO 8601 (e.g. 2026-11-01T00:00Z)", Required = true };
        var to = new Option<string>("--to") { Description = "Last reference time, included", Required = true };
        var reason = new Option<string?>("--reason") { Description = "Recorded in each run's journal" };
        var refresh = new Command("refresh", "Re-fetch and rebuild every run whose reference time lies in [--from, --to], then finalize each again")
            { id, from, to, reason };
        refresh.Run(env, async (parse, ctx, cancel) =>
        {
            var query = $"from={Uri.EscapeDataString(parse.GetValue(from)!)}&to={Uri.EscapeDataString(parse.GetValue(to)!)}";
            if (parse.GetValue(reason) is { } r) query += "&reason=" + Uri.EscapeDataString(r);
            var accepted = await ctx.Client.PostAsync($"/api/datasets/{Uri.EscapeDataString(parse.GetValue(id)!)}/refresh?{query}", null, cancel);
            ctx.Show(accepted, a =>
            {
                var runs = a.GetProperty("runs").EnumerateArray().Select(x => x.GetString()).ToList();
                ctx.Console.WriteLine($"refresh accepted: {runs.Count} run(s)");
                foreach (var run in runs) ctx.Console.WriteLine("  " + run);
            });
        });
        command.Subcommands.Add(refresh);
        return command;
    }

    public static Command Runs(Func<string, string?> env)
    {
        var dataset = new Option<string?>("--dataset") { Description = "Only this dataset" };
        var status = new Option<string?>("--status") { Description = "in-progress, complete or finalized" };
        var command = new Command("runs", "Model runs, newest first") { dataset, status };
        command.Run(env, async (parse, ctx, cancel) =>
        {
            var query = new List<string>();
            if (parse.GetValue(dataset) is { } d) query.Add("dataset=" + Uri.EscapeDataString(d));
            if (parse.GetValue(status) is { } s) query.Add("status=" + Uri.EscapeDataString(s));
            var runs = await ctx.Client.GetAsync("/api/runs" + (query.Count > 0 ? "?" + string.Join("&", query) : ""), cancel);
            ctx.Show(runs, r => ctx.Console.Write(RunTable(r.GetProperty("runs").EnumerateArray())));
        });
        return command;
    }

    public static Command Run(Func<string, string?> env)
    {
        var showId = new Argument<string>("ID") { Description = "Run id: dataset/2026-11-01T00Z" };
        var show = new Command("show", "One run: each file and its state") { showId };
        show.Run(env, async (parse, ctx, cancel) =>
        {
            var run = await ctx.Client.GetAsync("/api/runs/" + Uri.EscapeDataString(parse.GetValue(showId)!), cancel);
            ctx.Show(run, r =>
            {
                ctx.Console.WriteLine($"{r.Text("runId")}  generation {r.Text("generation")}  admitted {r.Text("admitted")}  indexed {r.Text("indexed")}  waiting {r.Text("waiting")}  failed {r.Text("failed")}");
                var table = new Table().AddColumns("file", "status", "attempts", "reason");
                foreach (var f in r.GetProperty("files").EnumerateArray())
                    table.AddRow(Markup.Escape(f.Text("dataId")), f.Text("status"), f.Text("attempts"), Markup.Escape(f.Text("failureReason")));
                ctx.Console.Write(table);
            });
        });

        var refreshId = new Argument<string>("ID") { Description = "Run id: dataset/2026-11-01T00Z" };
        var file = new Option<string?>("--file") { Description = "Refresh only this file (its data id)" };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the run's journal" };
        var refresh = new Command("refresh", "Re-fetch and rebuild the run (or one file), then finalize it again") { refreshId, file, reason };
        refresh.Run(env, async (parse, ctx, cancel) =>
        {
            var query = new List<string>();
            if (parse.GetValue(file) is { } f) query.Add("file=" + Uri.EscapeDataString(f));
            if (parse.GetValue(reason) is { } r) query.Add("reason=" + Uri.EscapeDataString(r));
            var path = "/api/runs/" + Uri.EscapeDataString(parse.GetValue(refreshId)!) + "/refresh" + (query.Count > 0 ? "?" + string.Join("&", query) : "");
            var accepted = await ctx.Client.PostAsync(path, null, cancel);
            ctx.Show(accepted, a => ctx.Console.WriteLine($"refresh accepted: generation {a.Text("generation")}, {a.Text("files")} file(s)"));
        });

        var announcementsId = new Argument<string>("ID") { Description = "Run id: dataset/2026-11-01T00Z" };
        var raw = new Option<bool>("--raw") { Description = "Each broker message as received, one a line (to publish again, e.g. through amqp-publish or mosquitto_pub -l)" };
        var announcements = new Command("announcements", "The run's announcements as journaled, in admission order") { announcementsId, raw };
        announcements.Run(env, async (parse, ctx, cancel) =>
        {
            var list = await ctx.Client.GetAsync("/api/runs/" + Uri.EscapeDataString(parse.GetValue(announcementsId)!) + "/announcements", cancel);
            if (parse.GetValue(raw))
            {
                foreach (var a in list.EnumerateArray()) ctx.WriteRaw(OneLine(a.Text("rawMessage")));
                return;
            }
            ctx.Show(list, l =>
            {
                var table = new Table().AddColumns("data id", "published", "size", "source", "url");
                foreach (var a in l.EnumerateArray())
                    table.AddRow(Markup.Escape(a.Text("dataId")), a.Text("publishedAt"), a.Text("size"), Markup.Escape(a.Text("source")), Markup.Escape(a.Text("url")));
                ctx.Console.Write(table);
            });
        });

        return new Command("run", "One model run") { show, refresh, announcements };
    }

    // A JSON message compacted onto one line (the form a line-per-message publisher reads); anything else as it is.
    private static string OneLine(string message)
    {
        try
        {
            using var document = JsonDocument.Parse(message);
            return JsonSerializer.Serialize(document.RootElement);
        }
        catch (JsonException)
        {
            return message;
        }
    }

    public static Command Announce(Func<string, string?> env)
    {
        var url = new Argument<string>("URL") { Description = "http(s) or s3 URL of the file" };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset id (default: the first whose path patterns match)" };
        var relPath = new Option<string?>("--rel-path") { Description = "Path the dataset rules see (default: the URL's path)" };
        var command = new Command("announce", "Inject an announcement by hand (the manual trigger)") { url, dataset, relPath };
        command.Run(env, async (parse, ctx, cancel) =>
        {
            var verdict = await ctx.Client.PostAsync("/api/announcements",
                new { url = parse.GetValue(url), dataset = parse.GetValue(dataset), relPath = parse.GetValue(relPath) }, cancel);
            ctx.Show(verdict, v => ctx.Console.WriteLine($"{v.Text("verdict")}: {v.Text("dataset")} {v.Text("dataId")} {v.Text("reason")}".TrimEnd()));
        });
        return command;
    }

    public static Command Watch(Func<string, string?> env)
    {
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes", DefaultValueFactory = _ => 2 };
        var count = new Option<int?>("--count") { Description = "Stop after this many refreshes (default: until Ctrl-C)" };
        var command = new Command("watch", "A live table of datasets and runs in progress") { interval, count };
        command.Run(env, async (parse, ctx, cancel) =>
        {
            var every = TimeSpan.FromSeconds(Math.Max(0.2, parse.GetValue(interval)));
            var limit = parse.GetValue(count);
            for (var i = 0; limit is null || i < limit; i++)
            {
                var datasets = await ctx.Client.GetAsync("/api/datasets", cancel);
                var runs = await ctx.Client.GetAsync("/api/runs?status=in-progress", cancel);
                if (ctx.Json)
                {
                    ctx.Show(JsonSerializer.SerializeToElement(new { datasets, runs }), _ => { });
                }
                else
                {
                    if (i > 0) ctx.Console.Clear();
                    ctx.Console.Write(new Rule($"PipelineCluster at {Markup.Escape(ctx.Client.BaseAddress.ToString())}  {DateTime.UtcNow:HH:mm:ss}Z"));
                    ctx.Console.Write(DatasetTable(datasets.EnumerateArray()));
                    ctx.Console.Write(RunTable(runs.GetProperty("runs").EnumerateArray()));
                }
                if (limit is null || i + 1 < limit)
                {
                    try
                    {
                        await Task.Delay(every, cancel);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        });
        return command;
    }

    private static Command DatasetAction(Func<string, string?> env, string name, string description, Func<CtlContext, string, CancellationToken, Task<JsonElement>> call)
    {
        var id = new Argument<string>("ID") { Description = "Dataset id" };
        var command = new Command(name, description) { id };
        command.Run(env, async (parse, ctx, cancel) =>
        {
            var result = await call(ctx, Uri.EscapeDataString(parse.GetValue(id)!), cancel);
            ctx.Show(result, r => ctx.Console.Write(DatasetTable([r.TryGetProperty("status", out _) ? r : Wrap(r)])));
        });
        return command;
    }

    /// <summary>Pause and resume answer with the bare status: shape it like a dataset view for the table.</summary>
    private static JsonElement Wrap(JsonElement status) =>
        JsonSerializer.SerializeToElement(new { id = status.Text("datasetId"), status });

    private static Table DatasetTable(IEnumerable<JsonElement> datasets)
    {
        var table = new Table().AddColumns("dataset", "state", "admitted", "duplicates", "rejected", "rate/s", "lag s", "runs", "last seen");
        foreach (var d in datasets)
        {
            var s = d.GetProperty("status");
            var paused = s.TryGetProperty("paused", out var p) && p.GetBoolean();
            table.AddRow(Markup.Escape(d.Text("id")), paused ? $"paused ({Markup.Escape(s.Text("pauseReason"))})" : "running",
                s.Text("admitted"), s.Text("duplicates"), s.Text("rejected"), Number(s, "admittedPerSecond"), Number(s, "lagSeconds"),
                s.Text("knownRuns"), s.Text("lastSeenAt"));
        }
        return table;
    }

    private static Table RunTable(IEnumerable<JsonElement> runs)
    {
        var table = new Table().AddColumns("run", "status", "admitted", "indexed", "waiting", "failed");
        foreach (var r in runs)
            table.AddRow(Markup.Escape(r.Text("id")), r.Text("status"), r.Text("admitted"), r.Text("indexed"), r.Text("waiting"), r.Text("failed"));
        return table;
    }

    private static string Number(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble().ToString("0.##", CultureInfo.InvariantCulture) : "";
}
