using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Pipeline.Actors.Jobs;
using Pipeline.Host.Packaging;
using Pipeline.Packaging.Boundaries;

namespace Pipeline.Host.Management;

/// <summary>
/// Boundaries (named GeoJSON polygons, stored in the journal) and packaging jobs: submit (a duplicate returns the
/// existing job), list, show, cancel. Bad input is a 400 whose detail names the parameter and why.
/// </summary>
public static class PackagingEndpoints
{
    /// <summary>Web defaults (camelCase) with statuses as names.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public sealed record JobsView(IReadOnlyList<PackageJobView> Jobs);

    public sealed record BoundaryView(BoundarySummary Summary, JsonElement Geometry);

    public static IEndpointRouteBuilder MapPackagingEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("packaging").AnswerBusyOnAskTimeout();

        api.MapPost("/boundaries", async (HttpRequest request, string? name, string? nameProperty, IRequiredActor<PackagingRegistryRegion> registry,
                DomainEndpoints.Timeouts t, CancellationToken cancel) =>
            {
                string text;
                using (var reader = new StreamReader(request.Body, Encoding.UTF8)) text = await reader.ReadToEndAsync(cancel);
                IReadOnlyList<Boundary> parsed;
                try
                {
                    if (string.IsNullOrWhiteSpace(text)) throw new BoundaryException("empty body: send GeoJSON (a FeatureCollection, Feature, Polygon or MultiPolygon)");
                    parsed = GeoJsonBoundaries.Parse(text, name, nameProperty);
                }
                catch (BoundaryException e)
                {
                    return Problem(StatusCodes.Status400BadRequest, "Bad boundary", e.Message);
                }
                var stored = parsed.Select(b => new StoredBoundary(b.Name, b.Geometry, b.Sha256, b.Box.West, b.Box.South, b.Box.East, b.Box.North,
                    b.Polygons.Count, b.Vertices, default)).ToList();
                var result = await registry.ActorRef.Ask<BoundariesDefined>(new DefineBoundaries(stored), t.Ask, cancel);
                return Results.Json(result, statusCode: result.Created.Count + result.Replaced.Count > 0 ? StatusCodes.Status201Created : StatusCodes.Status200OK);
            })
            .RequireWriteToken().WithSummary("Store named boundaries from GeoJSON (?name= for a single geometry, ?nameProperty= for the features' name property)");

        api.MapGet("/boundaries", async (IRequiredActor<PackagingRegistryRegion> registry, DomainEndpoints.Timeouts t, CancellationToken cancel) =>
                Results.Ok(await registry.ActorRef.Ask<BoundaryList>(new GetBoundaries(), t.Ask, cancel)))
            .RequireReadAccess().WithSummary("Stored boundaries: name, box, size, hash");

        api.MapGet("/boundaries/{name}", async (string name, IRequiredActor<PackagingRegistryRegion> registry, DomainEndpoints.Timeouts t, CancellationToken cancel) =>
            {
                var found = await registry.ActorRef.Ask<BoundaryFound>(new GetBoundary(Uri.UnescapeDataString(name)), t.Ask, cancel);
                if (found.Boundary is not { } b) return Problem(StatusCodes.Status404NotFound, "Unknown boundary", $"no boundary '{name}' is stored");
                using var doc = JsonDocument.Parse(b.Geometry);
                return Results.Ok(new BoundaryView(new BoundarySummary(b.Name, b.Sha256, b.West, b.South, b.East, b.North, b.Polygons, b.Vertices, b.DefinedAt),
                    doc.RootElement.Clone()));
            })
            .RequireReadAccess().WithSummary("One boundary with its GeoJSON geometry");

        api.MapPost("/jobs", async (HttpRequest http, PackageJobService service, CancellationToken cancel) =>
            {
                PackageJobRequest? body;
                try
                {
                    body = await JsonSerializer.DeserializeAsync<PackageJobRequest>(http.Body, Json, cancel);
                }
                catch (JsonException e)
                {
                    return Problem(StatusCodes.Status400BadRequest, "Bad job", $"the body is not a job request: {e.Message}");
                }
                if (body is null) return Problem(StatusCodes.Status400BadRequest, "Bad job", "empty body");
                try
                {
                    var view = await service.SubmitAsync(body, "api", cancel);
                    return Results.Json(view, Json, statusCode: view.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
                }
                catch (JobRequestException e)
                {
                    return Problem(e.Status, "Bad job", e.Message);
                }
                catch (BoundaryException e)
                {
                    return Problem(StatusCodes.Status400BadRequest, "Bad job", "boundary: " + e.Message);
                }
            })
            .RequireWriteToken().WithSummary("Submit a packaging job; the same parameters again answer 200 with the existing job");

        api.MapGet("/jobs", async (string? status, int? limit, IRequiredActor<PackagingRegistryRegion> registry, IRequiredActor<PackageJobRegion> jobs,
                DomainEndpoints.Timeouts t, CancellationToken cancel) =>
            {
                PackageJobStatus? wanted = null;
                if (status is not null)
                {
                    if (!Enum.TryParse<PackageJobStatus>(status, ignoreCase: true, out var s) || s == PackageJobStatus.Unknown)
                        return Problem(StatusCodes.Status400BadRequest, "Bad status", $"status '{status}' is not queued, running, succeeded, failed or cancelled");
                    wanted = s;
                }
                var index = await registry.ActorRef.Ask<PackageJobIndex>(new ListPackageJobs(limit ?? 100), t.Ask, cancel);
                var views = await Task.WhenAll(index.Jobs.Select(j => jobs.ActorRef.Ask<PackageJobView>(new GetPackageJob(j.JobId), t.Ask, cancel)));
                return Results.Json(new JobsView([.. views.Where(v => v.Status != PackageJobStatus.Unknown && (wanted is null || v.Status == wanted))]), Json);
            })
            .RequireReadAccess().WithSummary("Packaging jobs, newest first; ?status=queued|running|succeeded|failed|cancelled");

        api.MapGet("/jobs/{id}", async (string id, IRequiredActor<PackageJobRegion> jobs, DomainEndpoints.Timeouts t, CancellationToken cancel) =>
            {
                if (!IsJobId(id)) return Problem(StatusCodes.Status400BadRequest, "Bad job id", $"'{id}' is not a job id like pkg-0123456789abcdef0123");
                var view = await jobs.ActorRef.Ask<PackageJobView>(new GetPackageJob(id), t.Ask, cancel);
                return view.Status == PackageJobStatus.Unknown
                    ? Problem(StatusCodes.Status404NotFound, "Unknown job", $"no job '{id}' was submitted")
                    : Results.Json(view, Json);
            })
            .RequireReadAccess().WithSummary("One job: status, per-step progress, packages (store keys; /store/... links on a local store)");

        api.MapPost("/jobs/{id}/cancel", async (string id, string? reason, IRequiredActor<PackageJobRegion> jobs, DomainEndpoints.Timeouts t, CancellationToken cancel) =>
            {
                if (!IsJobId(id)) return Problem(StatusCodes.Status400BadRequest, "Bad job id", $"'{id}' is not a job id like pkg-0123456789abcdef0123");
                var current = await jobs.ActorRef.Ask<PackageJobView>(new GetPackageJob(id), t.Ask, cancel);
                if (current.Status == PackageJobStatus.Unknown) return Problem(StatusCodes.Status404NotFound, "Unknown job", $"no job '{id}' was submitted");
                if (current.Status is not (PackageJobStatus.Queued or PackageJobStatus.Running))
                    return Problem(StatusCodes.Status409Conflict, "Job finished", $"job '{id}' is already {current.Status.ToString().ToLowerInvariant()}");
                var view = await jobs.ActorRef.Ask<PackageJobView>(new CancelPackageJob(id, reason ?? "cancelled by an operator"), t.Ask, cancel);
                return Results.Json(view, Json);
            })
            .RequireWriteToken().WithSummary("Cancel a queued or running job");

        return app;
    }

    private static bool IsJobId(string id) => id.Length == 24 && id.StartsWith("pkg-", StringComparison.Ordinal) && id[4..].All(char.IsAsciiHexDigitLower);

    private static IResult Problem(int status, string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: status);
}
