using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Options;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Host.Configuration;

namespace Pipeline.Host.Management;

/// <summary>
/// The pipeline's own endpoints: datasets (state, pause, resume, refresh a window of runs), model runs (state per file,
/// refresh, the journaled announcements) and manual announcements. They reach the sharded entities through the actor
/// registry and Ask with the request's token.
/// </summary>
public static class DomainEndpoints
{
    public sealed record DatasetView(string Id, IReadOnlyList<string> PathPatterns, string OutputStore, string OutputFormat, DataStreamStatus? Status);

    public sealed record RunSummary(string Id, string Dataset, DateTimeOffset ReferenceTime, string Status, int Admitted, int Indexed, int Waiting, int Failed);

    public sealed record RunsView(IReadOnlyList<RunSummary> Runs);

    public sealed record WindowRefresh(string Dataset, DateTimeOffset From, DateTimeOffset To, string Reason, IReadOnlyList<string> Runs);

    /// <summary>An announcement as the run journaled it; <c>RawMessage</c> is the broker message's body as received.</summary>
    public sealed record JournaledAnnouncement(string DataId, string Url, string RelPath, string Source, string Format, string? Topic, long? Size,
        string? IntegrityMethod, string? IntegrityValue, DateTimeOffset PublishedAt, string? Relation, string RawMessage);

    /// <summary>A manual announcement (the first seed's manual trigger).</summary>
    public sealed record AnnouncementRequest(string? Url, string? Dataset, string? RelPath, long? Size, string? IntegrityMethod, string? IntegrityValue);

    public sealed record AnnouncementResponse(string Dataset, string DataId, string Verdict, string? Reason);

    public static IEndpointRouteBuilder MapDomainEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("pipeline").AnswerBusyOnAskTimeout();

        api.MapGet("/datasets", async (DatasetCatalog catalog, IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel) =>
            Results.Ok(await Task.WhenAll(catalog.All.Select(d => DatasetAsync(d, streams, t, cancel)))))
            .RequireReadAccess().WithSummary("Every configured dataset with its state");

        api.MapGet("/datasets/{id}", async (string id, DatasetCatalog catalog, IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel) =>
                Find(catalog, id) is { } d ? Results.Ok(await DatasetAsync(d, streams, t, cancel)) : UnknownDataset(catalog, id))
            .RequireReadAccess().WithSummary("One dataset: state, counters, rate, lag");

        api.MapPost("/datasets/{id}/pause", async (string id, HttpRequest request, DatasetCatalog catalog, IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel) =>
            {
                if (Find(catalog, id) is not { } d) return UnknownDataset(catalog, id);
                var reason = request.Query["reason"].ToString() is { Length: > 0 } r ? r : "paused by an operator";
                return Results.Ok(await streams.ActorRef.Ask<DataStreamStatus>(new PauseDataStream(d.Id, reason), t.Ask, cancel));
            })
            .RequireWriteToken().WithSummary("Stop admitting (announcements stay on the broker)");

        api.MapPost("/datasets/{id}/resume", async (string id, DatasetCatalog catalog, IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel) =>
                Find(catalog, id) is { } d
                    ? Results.Ok(await streams.ActorRef.Ask<DataStreamStatus>(new ResumeDataStream(d.Id), t.Ask, cancel))
                    : UnknownDataset(catalog, id))
            .RequireWriteToken().WithSummary("Admit again");

        api.MapPost("/datasets/{id}/refresh", async (string id, string? from, string? to, string? reason, DatasetCatalog catalog,
                IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel) =>
            {
                if (Find(catalog, id) is not { } d) return UnknownDataset(catalog, id);
                if (!TryParseTime(from, out var start) || !TryParseTime(to, out var end))
                    return Problem(StatusCodes.Status400BadRequest, "Bad window",
                        $"from and to must both be ISO 8601 times, e.g. from=2026-11-01T00:00Z&to=2026-11-02T00:00Z (got from='{from}', to='{to}')");
                if (start > end)
                    return Problem(StatusCodes.Status400BadRequest, "Bad window", $"from ({start:O}) is after to ({end:O})");
                var why = string.IsNullOrWhiteSpace(reason) ? "refreshed by an operator (window)" : reason;
                var accepted = await streams.ActorRef.Ask<RefreshWindowAccepted>(new RefreshWindow(d.Id, start, end, why), t.Ask, cancel);
                return Results.Accepted(value: new WindowRefresh(d.Id.Value, start, end, why, accepted.Runs.Select(r => r.ToString()).ToList()));
            })
            .RequireWriteToken().WithSummary("Re-fetch and rebuild every run of the dataset whose reference time lies in [from, to], then finalize each again");

        api.MapGet("/runs", async (string? dataset, string? status, int? limit, DatasetCatalog catalog, IRequiredActor<DataStreamRegion> streams,
                IRequiredActor<ModelRunRegion> runs, Timeouts t, CancellationToken cancel) =>
            {
                var datasets = catalog.All.AsEnumerable();
                if (dataset is not null)
                {
                    if (Find(catalog, dataset) is not { } d) return UnknownDataset(catalog, dataset);
                    datasets = [d];
                }
                var summaries = new List<RunSummary>();
                foreach (var d in datasets)
                {
                    var seen = await streams.ActorRef.Ask<DataStreamRuns>(new GetDataStreamRuns(d.Id, limit ?? 50), t.Ask, cancel);
                    var views = await Task.WhenAll(seen.Runs.Select(r => runs.ActorRef.Ask<ModelRunView>(new GetModelRun(r), t.Ask, cancel)));
                    summaries.AddRange(views.Select(Summary));
                }
                if (status is not null) summaries = summaries.Where(s => string.Equals(s.Status, status, StringComparison.OrdinalIgnoreCase)).ToList();
                return Results.Ok(new RunsView(summaries.OrderByDescending(s => s.ReferenceTime).ThenBy(s => s.Dataset, StringComparer.Ordinal).ToList()));
            })
            .RequireReadAccess().WithSummary("Runs, newest first; filter by dataset and status (in-progress, complete, finalized)");

        // A run id holds a slash (dataset/2026-11-01T00Z): each run route takes it URL-encoded as one segment, or as
        // its dataset and reference time (see MapRun).
        MapRun(api, HttpMethods.Get, "", (id, _, catalog, runs, t, cancel) => RunAsync(id, catalog, runs, t, cancel))
            .RequireReadAccess().WithSummary("One run with each file and its state");
        MapRun(api, HttpMethods.Post, "/refresh", RefreshAsync)
            .RequireWriteToken().WithSummary("Re-fetch and rebuild every file of the run (or ?file=DATAID for one), then finalize again");
        MapRun(api, HttpMethods.Get, "/announcements", (id, _, catalog, runs, t, cancel) => AnnouncementsAsync(id, catalog, runs, t, cancel))
            .RequireReadAccess().WithSummary("The run's announcements as journaled, in admission order, with each broker message as received");

        api.MapPost("/announcements", async (AnnouncementRequest body, DatasetCatalog catalog, IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel) =>
            {
                if (!Uri.TryCreate(body.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https" or "s3"))
                    return Problem(StatusCodes.Status400BadRequest, "Bad announcement", $"url must be an absolute http, https or s3 URL (got '{body.Url}')");
                var relPath = body.RelPath ?? (url.Scheme == "s3" ? url.AbsolutePath.TrimStart('/') : url.AbsolutePath.TrimStart('/'));
                Dataset? dataset;
                if (body.Dataset is not null)
                {
                    dataset = Find(catalog, body.Dataset);
                    if (dataset is null) return UnknownDataset(catalog, body.Dataset);
                }
                else
                {
                    dataset = catalog.Match(relPath).Dataset;
                    if (dataset is null)
                        return Problem(StatusCodes.Status422UnprocessableEntity, "No dataset matches",
                            $"no configured dataset's path patterns match '{relPath}'; name one with \"dataset\"");
                }
                Integrity? integrity = null;
                if (body.IntegrityMethod is not null || body.IntegrityValue is not null)
                {
                    if (string.IsNullOrWhiteSpace(body.IntegrityMethod) || string.IsNullOrWhiteSpace(body.IntegrityValue))
                        return Problem(StatusCodes.Status400BadRequest, "Bad announcement", "integrityMethod and integrityValue go together");
                    integrity = new Integrity(body.IntegrityMethod.ToLowerInvariant(), body.IntegrityValue);
                }
                var announcement = new Announcement("api", AnnouncementFormats.Manual, relPath, url, relPath, null, body.Size, integrity,
                    t.Clock.GetUtcNow(), JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
                var result = await streams.ActorRef.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(dataset.Id, [announcement]), t.Ask, cancel);
                var outcome = result.Outcomes[0];
                var response = new AnnouncementResponse(dataset.Id.Value, relPath, outcome.Verdict.ToString(), outcome.Reason);
                return outcome.Verdict switch
                {
                    AdmissionVerdict.Admitted => Results.Json(response, statusCode: StatusCodes.Status201Created),
                    AdmissionVerdict.Duplicate => Results.Ok(response),
                    AdmissionVerdict.Rejected => Results.Json(response, statusCode: StatusCodes.Status422UnprocessableEntity),
                    _ => Results.Json(response, statusCode: StatusCodes.Status503ServiceUnavailable),
                };
            })
            .RequireWriteToken().WithSummary("Inject an announcement by hand; answers with the admission verdict");

        return app;
    }

    /// <summary>What endpoints need beyond the actors: the Ask timeout and the clock.</summary>
    public sealed class Timeouts(IOptions<PipelineSettings> settings, TimeProvider clock)
    {
        public TimeSpan Ask { get; } = settings.Value.Management.AskTimeout;

        public TimeProvider Clock { get; } = clock;
    }

    private static async Task<DatasetView> DatasetAsync(Dataset d, IRequiredActor<DataStreamRegion> streams, Timeouts t, CancellationToken cancel)
    {
        var status = await streams.ActorRef.Ask<DataStreamStatus>(new GetDataStream(d.Id), t.Ask, cancel);
        return new DatasetView(d.Id.Value, d.Options.PathPatterns, d.Options.Outputs.Store, d.Options.Outputs.Format, status);
    }

    /// <summary>
    /// Maps a run route twice: <c>/runs/{id}SUFFIX</c> with the id URL-encoded as one segment, and
    /// <c>/runs/{dataset}/{reftime}SUFFIX</c>; both reach <paramref name="handler"/> with the run id. Conventions
    /// (access, summary) added to the result apply to both.
    /// </summary>
    private static BothRoutes MapRun(IEndpointRouteBuilder api, string method, string suffix,
        Func<string, HttpRequest, DatasetCatalog, IRequiredActor<ModelRunRegion>, Timeouts, CancellationToken, Task<IResult>> handler) =>
        new(
            api.MapMethods("/runs/{id}" + suffix, [method],
                (string id, HttpRequest request, DatasetCatalog catalog, IRequiredActor<ModelRunRegion> runs, Timeouts t, CancellationToken cancel) =>
                    handler(Uri.UnescapeDataString(id), request, catalog, runs, t, cancel)),
            api.MapMethods("/runs/{dataset}/{reftime}" + suffix, [method],
                (string dataset, string reftime, HttpRequest request, DatasetCatalog catalog, IRequiredActor<ModelRunRegion> runs, Timeouts t, CancellationToken cancel) =>
                    handler(dataset + "/" + reftime, request, catalog, runs, t, cancel)));

    private sealed class BothRoutes(IEndpointConventionBuilder first, IEndpointConventionBuilder second) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            first.Add(convention);
            second.Add(convention);
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            first.Finally(finallyConvention);
            second.Finally(finallyConvention);
        }
    }

    private static async Task<IResult> RunAsync(string id, DatasetCatalog catalog, IRequiredActor<ModelRunRegion> runs, Timeouts t, CancellationToken cancel)
    {
        if (!ModelRunId.TryParse(id, out var runId))
            return Problem(StatusCodes.Status400BadRequest, "Bad run id", $"'{id}' is not a run id like dataset/2026-11-01T00Z");
        if (!catalog.TryGet(runId.Dataset, out _)) return UnknownDataset(catalog, runId.Dataset.Value);
        var view = await runs.ActorRef.Ask<ModelRunView>(new GetModelRun(runId), t.Ask, cancel);
        return view.Files.Count == 0
            ? Problem(StatusCodes.Status404NotFound, "Unknown run", $"run '{runId}' has admitted no file")
            : Results.Ok(view);
    }

    private static async Task<IResult> AnnouncementsAsync(string id, DatasetCatalog catalog, IRequiredActor<ModelRunRegion> runs, Timeouts t, CancellationToken cancel)
    {
        if (!ModelRunId.TryParse(id, out var runId))
            return Problem(StatusCodes.Status400BadRequest, "Bad run id", $"'{id}' is not a run id like dataset/2026-11-01T00Z");
        if (!catalog.TryGet(runId.Dataset, out _)) return UnknownDataset(catalog, runId.Dataset.Value);
        var replayed = await runs.ActorRef.Ask<AnnouncementsReplayed>(new ReplayAnnouncements(runId), t.Ask, cancel);
        if (replayed.Announcements.Count == 0)
            return Problem(StatusCodes.Status404NotFound, "Unknown run", $"run '{runId}' has admitted no file");
        return Results.Ok(replayed.Announcements.Select(a => new JournaledAnnouncement(a.DataId, a.Location.AbsoluteUri, a.RelPath, a.Source, a.Format,
            a.Topic, a.Size, a.Integrity?.Method, a.Integrity?.Value, a.PublishedAt, a.Relation, a.RawMessage)).ToList());
    }

    private static bool TryParseTime(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out time);

    private static async Task<IResult> RefreshAsync(string id, HttpRequest request, DatasetCatalog catalog, IRequiredActor<ModelRunRegion> runs, Timeouts t, CancellationToken cancel)
    {
        if (!ModelRunId.TryParse(id, out var runId))
            return Problem(StatusCodes.Status400BadRequest, "Bad run id", $"'{id}' is not a run id like dataset/2026-11-01T00Z");
        if (!catalog.TryGet(runId.Dataset, out _)) return UnknownDataset(catalog, runId.Dataset.Value);
        var reason = request.Query["reason"].ToString() is { Length: > 0 } r ? r : "refreshed by an operator";
        object command = request.Query["file"].ToString() is { Length: > 0 } file
            ? new RefreshFile(runId, file, reason)
            : new RefreshRun(runId, reason);
        return await runs.ActorRef.Ask<object>(command, t.Ask, cancel) switch
        {
            RefreshAccepted accepted => Results.Accepted(value: accepted),
            RefreshRejected rejected => Problem(StatusCodes.Status409Conflict, "Refresh refused", rejected.Reason),
            var other => Problem(StatusCodes.Status500InternalServerError, "Unexpected answer", other.GetType().Name),
        };
    }

    private static RunSummary Summary(ModelRunView v) => new(
        v.RunId.ToString(), v.RunId.Dataset.Value, v.RunId.ReferenceTime,
        v.FinalizedGeneration == v.Generation ? "finalized" : v.CompletedGeneration == v.Generation ? "complete" : "in-progress",
        v.Admitted, v.Indexed, v.Waiting, v.Failed);

    private static Dataset? Find(DatasetCatalog catalog, string id) =>
        catalog.All.FirstOrDefault(d => string.Equals(d.Id.Value, id, StringComparison.Ordinal));

    private static IResult UnknownDataset(DatasetCatalog catalog, string id) => Problem(StatusCodes.Status404NotFound, "Unknown dataset",
        $"no dataset '{id}' is configured; known: {string.Join(", ", catalog.All.Select(d => d.Id.Value))}");

    private static IResult Problem(int status, string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: status);
}
