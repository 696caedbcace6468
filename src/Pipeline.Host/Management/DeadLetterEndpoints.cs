using System.Text;
using Pipeline.Host.Ingest;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Ingest;

namespace Pipeline.Host.Management;

/// <summary>
/// The node's parked messages: <c>GET /api/deadletters</c> (filter by source, reason, time; paged),
/// <c>POST /api/deadletters/replay</c> (by ids or by filter: announcements go through parse, filter and admission
/// again on this node, notifications are published again; a replayed letter is removed once re-sent, a still-bad one
/// is parked again with its new reason) and <c>DELETE /api/deadletters/{id}</c>.
/// </summary>
public static class DeadLetterEndpoints
{
    /// <summary>A replay selection: explicit ids, or a filter (source, reason substring, time window).</summary>
    public sealed record ReplayRequest(IReadOnlyList<string>? Ids, string? Source, string? Reason, DateTimeOffset? Since, DateTimeOffset? Until);

    public static IEndpointRouteBuilder MapDeadLetterEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/deadletters").WithTags("dead letters");
        api.MapGet("", async (string? source, string? reason, DateTimeOffset? since, DateTimeOffset? until, int? offset, int? limit,
                IDeadLetterStore store, CancellationToken cancel) =>
            {
                if (offset is < 0 || limit is < 1 or > 10_000)
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad page", detail: "offset must be >= 0 and limit 1..10000");
                return Results.Ok(await store.ListAsync(new DeadLetterQuery(Source: source, ReasonContains: reason, Since: since, Until: until),
                    offset ?? 0, limit ?? 100, cancel));
            })
            .RequireReadAccess().WithSummary("Parked messages, oldest first, with why they were parked");

        api.MapPost("/replay", async (ReplayRequest body, IDeadLetterStore store, AnnouncementInjector injector, IngestHosting.Wis2PublisherHolder wis2,
                CancellationToken cancel) =>
            {
                if (body.Ids is null or { Count: 0 } && body.Source is null && body.Reason is null && body.Since is null && body.Until is null)
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Nothing selected",
                        detail: "give ids, or at least one of source, reason, since, until (replaying everything must be asked for explicitly, e.g. since=0001-01-01)");
                var query = new DeadLetterQuery(body.Ids is { Count: > 0 } ? body.Ids : null, body.Source, body.Reason, body.Since, body.Until);
                var report = await DeadLetterReplay.ReplayAsync(store, query, (letter, ct) => ResendAsync(letter, injector, wis2, ct), cancellationToken: cancel);
                return Results.Ok(report);
            })
            .RequireWriteToken().WithSummary("Send parked messages through the pipeline again; those re-sent are removed");

        api.MapDelete("/{id}", async (string id, IDeadLetterStore store, CancellationToken cancel) =>
                await store.RemoveAsync([id], cancel) > 0
                    ? Results.NoContent()
                    : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such letter", detail: $"no dead letter '{id}'"))
            .RequireWriteToken().WithSummary("Drop one parked message");
        return app;
    }

    private static async Task ResendAsync(DeadLetter letter, AnnouncementInjector injector, IngestHosting.Wis2PublisherHolder wis2, CancellationToken ct)
    {
        if (letter.Source == "wis2:notifier")
            throw new InvalidOperationException("a notification that could not be built is not replayed: fix the dataset's Outputs and refresh the run");
        if (letter.Source.StartsWith("wis2:", StringComparison.Ordinal))
        {
            if (wis2.Publisher is null) throw new InvalidOperationException("this node has no WIS2 broker (Pipeline:Wis2:Broker)");
            if (letter.Topic is null) throw new InvalidOperationException("the parked notification has no topic");
            await wis2.Publisher.PublishAsync(letter.Topic, Encoding.UTF8.GetBytes(letter.Body), ct).ConfigureAwait(false);
            return;
        }
        if (!await injector.InjectAsync(new InboundMessage(letter.Source, letter.Topic, letter.Body, letter.Headers), ct).ConfigureAwait(false))
            throw new InvalidOperationException("the message was dropped again");
    }
}
