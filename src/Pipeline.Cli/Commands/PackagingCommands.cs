using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Pipeline.Cli.Commands;

/// <summary><c>boundaries list|show|add</c> and <c>jobs list|show|submit|cancel</c>: packaging over the management API.</summary>
public static class PackagingCommands
{
    public static Command Boundaries(Func<string, string?> env)
    {
        var list = new Command("list", "Stored boundaries with their box and size");
        list.Run(env, async (_, ctx, cancel) =>
        {
            var result = await ctx.Client.GetAsync("/api/boundaries", cancel);
            ctx.Show(result, r =>
            {
                var table = new Table().AddColumns("name", "west", "south", "east", "north", "polygons", "vertices", "defined");
                foreach (var b in r.GetProperty("boundaries").EnumerateArray())
                    table.AddRow(Markup.Escape(b.Text("name")), b.Text("west"), b.Text("south"), b.Text("east"), b.Text("north"), b.Text("polygons"),
                        b.Text("vertices"), b.Text("definedAt"));
                ctx.Console.Write(table);
            });
        });

        var showName = new Argument<string>("name") { Description = "The boundary's name" };
        var show = new Command("show", "One boundary with its GeoJSON geometry") { showName };
        show.Run(env, async (parse, ctx, cancel) =>
        {
            var result = await ctx.Client.GetAsync("/api/boundaries/" + Uri.EscapeDataString(parse.GetValue(showName)!), cancel);
            ctx.Show(result, r =>
            {
                var s = r.GetProperty("summary");
                ctx.Console.WriteLine($"{s.Text("name")}: box [{s.Text("west")}, {s.Text("south")}, {s.Text("east")}, {s.Text("north")}], " +
                                      $"{s.Text("polygons")} polygons, {s.Text("vertices")} vertices, sha256 {s.Text("sha256")}");
                ctx.Console.WriteLine(r.GetProperty("geometry").GetRawText());
            });
        });

        var file = new Argument<FileInfo>("file") { Description = "A GeoJSON file: FeatureCollection, Feature, Polygon or MultiPolygon (WGS84)" };
        var name = new Option<string?>("--name") { Description = "Name of a single geometry or feature" };
        var nameProperty = new Option<string?>("--name-property") { Description = "The feature property holding each boundary's name (default name)" };
        var add = new Command("add", "Store (or replace) boundaries from a GeoJSON file") { file, name, nameProperty };
        add.Run(env, async (parse, ctx, cancel) =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists) throw new CtlException($"no file '{path.FullName}'", 2);
            var query = new List<string>();
            if (parse.GetValue(name) is { } n) query.Add("name=" + Uri.EscapeDataString(n));
            if (parse.GetValue(nameProperty) is { } p) query.Add("nameProperty=" + Uri.EscapeDataString(p));
            var result = await ctx.Client.PostTextAsync("/api/boundaries" + (query.Count > 0 ? "?" + string.Join("&", query) : ""),
                await File.ReadAllTextAsync(path.FullName, cancel), "application/geo+json", cancel);
            ctx.Show(result, r => ctx.Console.WriteLine(
                $"created: {Names(r, "created")}; replaced: {Names(r, "replaced")}; unchanged: {Names(r, "unchanged")}"));
        });

        var command = new Command("boundaries", "Named polygons packages are clipped to");
        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(add);
        return command;
    }

    public static Command Jobs(Func<string, string?> env)
    {
        var status = new Option<string?>("--status") { Description = "queued, running, succeeded, failed or cancelled" };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Packaging jobs, newest first") { status, limit };
        list.Run(env, async (parse, ctx, cancel) =>
        {
            var query = "limit=" + parse.GetValue(limit) + (parse.GetValue(status) is { } s ? "&status=" + Uri.EscapeDataString(s) : "");
            var result = await ctx.Client.GetAsync("/api/jobs?" + query, cancel);
            ctx.Show(result, r =>
            {
                var table = new Table().AddColumns("id", "status", "runs", "boundary", "attempt", "submitted", "finished");
                foreach (var j in r.GetProperty("jobs").EnumerateArray())
                {
                    var spec = j.GetProperty("spec");
                    table.AddRow(j.Text("jobId"), j.Text("status"), Markup.Escape(string.Join(" ", spec.GetProperty("runs").EnumerateArray().Select(x => x.GetString()))),
                        Markup.Escape(spec.Text("boundary")), j.Text("attempt"), j.Text("submittedAt"), j.Text("finishedAt"));
                }
                ctx.Console.Write(table);
            });
        });

        var showId = new Argument<string>("id") { Description = "The job id (pkg-...)" };
        var show = new Command("show", "One job: status, progress of each step, packages") { showId };
        show.Run(env, async (parse, ctx, cancel) => Render(ctx, await ctx.Client.GetAsync("/api/jobs/" + Uri.EscapeDataString(parse.GetValue(showId)!), cancel)));

        var dataset = new Option<string[]>("--dataset") { Description = "Dataset(s) to package (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var run = new Option<string?>("--run") { Description = "latest (default) or a reference time like 2026-11-24T00Z" };
        var boundary = new Option<string?>("--boundary") { Description = "A stored boundary to clip to and mask by" };
        var variables = new Option<string[]>("--variables") { Description = "shortName, cfgrib or wgrib2 names (comma or repeat)", AllowMultipleArgumentsPerToken = true };
        var levels = new Option<string[]>("--levels") { Description = "typeOfLevel or typeOfLevel:level, e.g. isobaricInhPa:850", AllowMultipleArgumentsPerToken = true };
        var match = new Option<string?>("--match") { Description = "wgrib2-style regular expression on the inventory line, e.g. ':TMP:850 mb:'" };
        var fromStep = new Option<double?>("--from-step") { Description = "First forecast step (hours)" };
        var toStep = new Option<double?>("--to-step") { Description = "Last forecast step (hours)" };
        var format = new Option<string?>("--format") { Description = "zarr (default) or grib2 (original messages, no clipping)" };
        var noClip = new Option<bool>("--no-clip") { Description = "Keep the whole grid (the boundary is not applied)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until the job finished and show it" };
        var submit = new Command("submit", "Submit a packaging job (the same parameters again return the existing job)")
        {
            dataset, run, boundary, variables, levels, match, fromStep, toStep, format, noClip, wait,
        };
        submit.Run(env, async (parse, ctx, cancel) =>
        {
            static string[] Split(string[]? values) => values is null ? [] : [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
            var body = new
            {
                datasets = Split(parse.GetValue(dataset)),
                run = parse.GetValue(run),
                boundary = parse.GetValue(boundary),
                variables = Split(parse.GetValue(variables)),
                levels = Split(parse.GetValue(levels)),
                match = parse.GetValue(match),
                fromStep = parse.GetValue(fromStep),
                toStep = parse.GetValue(toStep),
                clip = parse.GetValue(noClip) ? false : (bool?)null,
                format = parse.GetValue(format),
            };
            var job = await ctx.Client.PostAsync("/api/jobs", body, cancel);
            if (parse.GetValue(wait))
            {
                var id = job.Text("jobId");
                while (job.Text("status") is "Queued" or "Running")
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancel);
                    job = await ctx.Client.GetAsync("/api/jobs/" + id, cancel);
                }
            }
            Render(ctx, job);
        });

        var cancelId = new Argument<string>("id") { Description = "The job id (pkg-...)" };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded with the job)" };
        var cancelJob = new Command("cancel", "Cancel a queued or running job") { cancelId, reason };
        cancelJob.Run(env, async (parse, ctx, cancel) =>
        {
            var path = "/api/jobs/" + Uri.EscapeDataString(parse.GetValue(cancelId)!) + "/cancel" +
                       (parse.GetValue(reason) is { } r ? "?reason=" + Uri.EscapeDataString(r) : "");
            Render(ctx, await ctx.Client.PostAsync(path, null, cancel));
        });

        var command = new Command("jobs", "Packaging jobs: list, show, submit, cancel");
        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(submit);
        command.Subcommands.Add(cancelJob);
        return command;
    }

    private static void Render(CtlContext ctx, JsonElement job) => ctx.Show(job, j =>
    {
        ctx.Console.WriteLine($"{j.Text("jobId")}: {j.Text("status")} (attempt {j.Text("attempt")}{(j.Text("created") == "True" ? ", new" : "")})" +
                              (j.Text("reason") is { Length: > 0 } why ? $": {why}" : ""));
        var steps = new Table().AddColumns("package", "step", "done", "total", "detail");
        foreach (var s in j.GetProperty("steps").EnumerateArray())
            steps.AddRow(Markup.Escape(s.Text("package")), s.Text("name"), s.Text("done"), s.Text("total"), Markup.Escape(s.Text("detail")));
        ctx.Console.Write(steps);
        foreach (var p in j.GetProperty("packages").EnumerateArray())
            ctx.Console.WriteLine($"  {p.Text("run")}: {p.Text("fields")} fields, {p.Text("insideCells")}/{p.Text("cells")} cells inside, {p.Text("bytes")} bytes -> " +
                                  (p.Text("href") is { Length: > 0 } href ? href : p.Text("location")));
    });

    private static string Names(JsonElement r, string property) =>
        r.TryGetProperty(property, out var a) && a.GetArrayLength() > 0 ? string.Join(", ", a.EnumerateArray().Select(x => x.GetString())) : "-";
}
