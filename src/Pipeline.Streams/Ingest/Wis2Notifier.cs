using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Mqtt;
using Pipeline.Streams.Wis2;

namespace Pipeline.Streams.Ingest;

/// <summary>
/// WIS2 notifications for our products: one per processed file and one per finalized run, on the dataset's
/// <see cref="OutputOptions.WnmTopic"/>, published with QoS 1 (retried, then parked with the reason, never silent).
/// A dataset without a topic publishes nothing.
/// </summary>
public sealed class Wis2Notifier(MqttPublisher? publisher, IDeadLetterStore parked, WnmBuilder? builder = null)
{
    public const string ZarrMediaType = ProcessedFile.ZarrMediaType;

    private readonly WnmBuilder _builder = builder ?? new WnmBuilder();
    private long _published;
    private long _parked;

    public long Published => Interlocked.Read(ref _published);

    public long Parked => Interlocked.Read(ref _parked);

    public bool Enabled => publisher is not null;

    /// <summary>The problems of a dataset's topic for this node (no broker configured, not a WIS2 topic), none when fine.</summary>
    public IEnumerable<string> Problems(Dataset dataset)
    {
        if (string.IsNullOrWhiteSpace(dataset.Options.Outputs.WnmTopic)) yield break;
        if (publisher is null)
            yield return $"dataset '{dataset.Id}': Outputs.WnmTopic is set but the node has no WIS2 broker (Pipeline:Wis2:Broker)";
        if (Wis2Topic.TryParse(dataset.Options.Outputs.WnmTopic!) is not { } t)
            yield return $"dataset '{dataset.Id}': Outputs.WnmTopic '{dataset.Options.Outputs.WnmTopic}' is not a WIS2 topic (origin/a/wis2/<centre>/data/core/weather/prediction/forecast/<range>/<kind>)";
        else
            foreach (var p in t.Problems()) yield return $"dataset '{dataset.Id}': Outputs.WnmTopic: {p}";
    }

    /// <summary>
    /// Notifies one file's product: the canonical link is the file's Zarr (<see cref="ZarrMediaType"/>), or with
    /// <c>Outputs:FileZarr</c> <c>staging</c> its kerchunk references (<c>application/json</c>), a <c>via</c>
    /// link the original file with its own media type (<c>application/grib</c>, <c>application/netcdf</c>,
    /// <c>application/x-netcdf4</c>). Returns null when published or not configured, else why it was parked.
    /// </summary>
    public Task<string?> NotifyFileAsync(ModelRunId run, OutputOptions outputs, ProcessedFile file, Uri href, CancellationToken cancellationToken = default,
        Uri? source = null)
    {
        var request = Request(outputs, $"{run.Dataset}/{OutputLayout.RunPrefix(run).Split('/')[^1]}/{file.Name}", href, file.ProductBytes, file.ProductSha512,
            file.ValidFrom, file.ValidTo, file.Bounds, file.ProductMediaType);
        if (request is not null && source is not null) request = request with { OtherLinks = [new WnmLink("via", source, file.Format.MediaType())] };
        return request is null ? Task.FromResult<string?>(null) : PublishAsync(request, cancellationToken);
    }

    /// <summary>Notifies a finalized run's product (the run Zarr).</summary>
    public Task<string?> NotifyRunAsync(ModelRunId run, OutputOptions outputs, Uri href, long length, byte[] sha512, DateTimeOffset? from,
        DateTimeOffset? to, (double West, double South, double East, double North)? bounds, CancellationToken cancellationToken = default)
    {
        var request = Request(outputs, $"{run.Dataset}/{OutputLayout.RunPrefix(run).Split('/')[^1]}/run", href, length, sha512, from, to, bounds);
        return request is null ? Task.FromResult<string?>(null) : PublishAsync(request, cancellationToken);
    }

    private WnmRequest? Request(OutputOptions outputs, string localId, Uri href, long length, byte[] sha512, DateTimeOffset? from, DateTimeOffset? to,
        (double West, double South, double East, double North)? bounds, string mediaType = ZarrMediaType)
    {
        if (publisher is null || string.IsNullOrWhiteSpace(outputs.WnmTopic)) return null;
        var topic = Wis2Topic.TryParse(outputs.WnmTopic) ?? throw new InvalidOperationException($"'{outputs.WnmTopic}' is not a WIS2 topic");
        var request = new WnmRequest(topic, localId, href, mediaType, length, sha512)
        {
            Bounds = bounds is { } b ? new BoundingBox(b.West, b.South, b.East, b.North) : null,
        };
        var start = from ?? DateTimeOffset.UtcNow;
        var end = to ?? start;
        return start == end ? request with { Datetime = start } : request with { Start = start, End = end };
    }

    private async Task<string?> PublishAsync(WnmRequest request, CancellationToken cancellationToken)
    {
        WnmMessage message;
        try
        {
            message = _builder.Build(request);
        }
        catch (ArgumentException e)
        {
            // Not a publishable notification (e.g. a file:// link: set the dataset's Outputs.PublicBaseUrl): parked, the product stays.
            var why = $"notification for {request.Href} not built: {e.Message}";
            await parked.ParkAsync(new DeadLetter("wis2:notifier", why, DateTimeOffset.UtcNow, request.Topic.ToString(), request.LocalId),
                CancellationToken.None).ConfigureAwait(false);
            Interlocked.Increment(ref _parked);
            return why;
        }
        var reason = await Wis2Sink.PublishOrParkAsync(publisher!, parked, message, cancellationToken: cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref reason is null ? ref _published : ref _parked);
        return reason;
    }
}
