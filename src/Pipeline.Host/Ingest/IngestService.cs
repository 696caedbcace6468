using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using Akka.Streams.Dsl;
using Amazon.SQS;
using Microsoft.Extensions.Options;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Host.Configuration;
using Pipeline.Streams;
using Pipeline.Streams.Amqp;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;
using Pipeline.Streams.Mqtt;
using Pipeline.Streams.Polling;
using Pipeline.Zarr.Storage;
using Pipeline.Streams.Sqs;

namespace Pipeline.Host.Ingest;

/// <summary>The state of one configured source, for the health check and the API.</summary>
public sealed record SourceStatus(string Name, string Type, string Endpoint, bool Running, string? LastError);

/// <summary>
/// Runs this node's side of the pipeline once the actor system is up: the processing graph over the node's work
/// queues, and every configured source (plus the injector) through parse, filter, park and admission into the
/// DataStream entities. Stops them on shutdown: sources first (nothing new is admitted), then the graph.
/// </summary>
public sealed class IngestService(
    IOptions<PipelineSettings> options,
    ActorSystem system,
    IRequiredActor<DataStreamRegion> dataStreams,
    IRequiredActor<ModelRunRegion> modelRuns,
    IngestGraph graph,
    DatasetCatalog catalog,
    IDeadLetterStore deadLetters,
    AnnouncementInjector injector,
    ILogger<IngestService> log) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<(SourceOptions Options, UniqueKillSwitch Switch, Task Done)> _sources = [];
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<IDisposable> _disposables = [];
    private readonly Dictionary<string, string?> _errors = new(StringComparer.Ordinal);
    private Task? _graph;
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Pipeline.Sources", "0.1");
    private static readonly System.Diagnostics.Metrics.Counter<long> Outcomes =
        Meter.CreateCounter<long>("pipeline.announcements", "{announcement}", "Announcements by source and outcome: admitted, duplicate, rejected, deferred, unmatched");
    private static readonly System.Diagnostics.Metrics.Counter<long> Messages =
        Meter.CreateCounter<long>("pipeline.messages.admitted", "{message}", "Broker messages through admission, by source");

    public AnnouncementCounters Counters { get; } = new();


    private readonly Dictionary<string, AmqpConnectionProvider> _amqp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourceHealth> _health = new(StringComparer.Ordinal);

    public IReadOnlyList<SourceStatus> Sources => [.. _sources.Select(s => new SourceStatus(s.Options.Name, s.Options.Type,
        SourceOptions.Redacted(s.Options.Uri), !s.Done.IsCompleted, _errors.GetValueOrDefault(s.Options.Name)))];

    /// <summary>
    /// Why this node is not ready to ingest, or empty: a configured source that could not start or stopped, an AMQP
    /// source without an open connection (it reconnects with backoff meanwhile).
    /// </summary>
    public IReadOnlyList<string> NotReady()
    {
        var problems = new List<string>();
        foreach (var source in options.Value.Sources)
        {
            if (_errors.TryGetValue(source.Name, out var error) && error is not null) problems.Add($"source '{source.Name}': {error}");
            else if (_sources.FirstOrDefault(s => s.Options.Name == source.Name) is { Done.IsCompleted: true }) problems.Add($"source '{source.Name}' stopped");
            else if (_amqp.TryGetValue(source.Name, out var amqp) && !amqp.IsConnected) problems.Add($"source '{source.Name}': not connected to {amqp.Endpoint}");
            else if (_health.TryGetValue(source.Name, out var health) && !health.Connected) problems.Add($"source '{source.Name}': {health.Problem}");
        }
        return problems;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Ingest.Enabled)
        {
            log.LogInformation("Ingest is disabled on this node (Pipeline:Ingest:Enabled=false)");
            return;
        }
        // Parse outcomes of every source on this node (a message parsed, rejected and parked, or filtered out).
        Meter.CreateObservableCounter("pipeline.messages.parsed", () => Counters.Parsed, "{message}", "Broker messages parsed into announcements");
        Meter.CreateObservableCounter("pipeline.messages.rejected", () => Counters.Rejected, "{message}", "Malformed messages parked with a reason");
        Meter.CreateObservableCounter("pipeline.messages.filtered", () => Counters.Filtered, "{announcement}", "Announcements the source filters refused");
        var materializer = system.Materializer();
        var runs = await modelRuns.GetAsync(cancellationToken).ConfigureAwait(false);
        var streams = await dataStreams.GetAsync(cancellationToken).ConfigureAwait(false);
        _graph = graph.RunAsync(runs, materializer, _stopping.Token);

        var admission = AdmissionFlow.Create(streams, catalog, deadLetters, logger: log);
        Start(new SourceOptions { Name = "injected", Type = "injected", Uri = "local:" }, injector.Announcements(AutoDetectParser.Instance,
            AnnouncementFilter.AcceptAll, deadLetters, Counters), admission, materializer);
        foreach (var source in settings.Sources)
        {
            try
            {
                Start(source, Open(source), admission, materializer);
                log.LogInformation("Source {Source} ({Type}) started on {Endpoint}", source.Name, source.Type, SourceOptions.Redacted(source.Uri));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
            {
                _errors[source.Name] = e.Message;
                log.LogError("Source {Source} cannot start: {Error}", source.Name, e.Message);
            }
        }
    }

    private void Start(SourceOptions source, Source<CommittableAnnouncements, Akka.NotUsed> announcements,
        Flow<CommittableAnnouncements, AdmissionReport, Akka.NotUsed> admission, IMaterializer materializer)
    {
        var tag = new KeyValuePair<string, object?>("source", source.Name);
        var (kill, done) = announcements
            .ViaMaterialized(KillSwitches.Single<CommittableAnnouncements>(), Keep.Right)
            .Via(admission)
            .ToMaterialized(Sink.ForEach<AdmissionReport>(r =>
            {
                Messages.Add(r.Messages, tag);
                Outcomes.Add(r.Admitted, tag, new("outcome", "admitted"));
                Outcomes.Add(r.Duplicates, tag, new("outcome", "duplicate"));
                Outcomes.Add(r.Rejected - r.Unmatched, tag, new("outcome", "rejected"));
                Outcomes.Add(r.Unmatched, tag, new("outcome", "unmatched"));
                Outcomes.Add(r.Deferred, tag, new("outcome", "deferred"));
            }), Keep.Both)
            .Run(materializer);
        _sources.Add((source, kill, done.ContinueWith(t =>
        {
            if (t.IsFaulted)
            {
                _errors[source.Name] = t.Exception!.GetBaseException().Message;
                log.LogError(t.Exception.GetBaseException(), "Source {Source} stopped", source.Name);
            }
        }, TaskScheduler.Default)));
    }

    private Source<CommittableAnnouncements, Akka.NotUsed> Open(SourceOptions source)
    {
        var parser = AutoDetectParser.For(source.Format);
        var filter = Filter(source);
        switch (source.Type)
        {
            case "amqp":
            {
                var connections = new AmqpConnectionProvider(new Uri(source.Uri), "pipeline-" + source.Name);
                _owned.Add(connections);
                _amqp[source.Name] = connections;
                var queue = source.Queue ?? $"q_{new Uri(source.Uri).UserInfo.Split(':')[0] switch { "" => "anonymous", var u => u }}.pipeline.{source.Name}";
                var amqp = new AmqpSourceSettings(queue, source.Exchange, source.Topics, (ushort)source.Prefetch);
                return AmqpSource.Announcements(connections, amqp, source.Name, parser, filter, deadLetters, Counters);
            }
            case "mqtt":
            {
                var uri = new Uri(source.Uri);
                var user = uri.UserInfo.Split(':', 2);
                var connection = new MqttConnectionSettings(uri.Host, uri.Port > 0 ? uri.Port : uri.Scheme == "mqtts" ? 8883 : 1883,
                    $"pipeline-{source.Name}-{Environment.MachineName}".ToLowerInvariant())
                {
                    UseTls = uri.Scheme == "mqtts",
                    Username = user[0].Length > 0 ? Uri.UnescapeDataString(user[0]) : null,
                    Password = user.Length > 1 ? Uri.UnescapeDataString(user[1]) : null,
                };
                var health = _health[source.Name] = new SourceHealth($"not connected yet to {connection.Host}:{connection.Port}");
                return MqttSource.Announcements(new MqttSourceSettings(connection, source.Topics, (ushort)Math.Min(source.Prefetch, 65535)) { Health = health }, source.Name,
                    source.Format == "auto" ? null : parser, filter, deadLetters, Counters);
            }
            case "poll":
            {
                var seen = new SeenStore(source.SeenFile ?? Path.Combine(options.Value.Ingest.DataDirectory, "poll", source.Name + ".seen.jsonl"), source.Retention);
                _disposables.Add(seen);
                IRemoteLister lister;
                if (source.Uri.StartsWith("s3://", StringComparison.Ordinal))
                {
                    var s3 = S3ObjectStore.CreateClient(S3StoreOptions.FromUri(source.Uri));
                    _disposables.Add(s3);
                    var address = S3StoreOptions.FromUri(source.Uri);
                    lister = new S3Lister(s3, new S3ListingSettings(address.Bucket, address.Prefix));
                }
                else
                {
                    var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(2) };
                    _disposables.Add(http);
                    var root = source.Uri.EndsWith('/') ? source.Uri : source.Uri + "/";
                    lister = new HttpDirectoryLister(http, new HttpListingSettings(new Uri(root), source.Depth));
                }
                return PollSource.Announcements(lister, new PollSettings(source.Name, source.Interval) { Filter = filter, MaxFileAge = source.MaxFileAge },
                    seen, log);
            }
            case "sqs":
            {
                var sqs = new AmazonSQSClient();
                var client = new AwsSqsClient(sqs, source.Uri);
                var health = _health[source.Name] = new SourceHealth($"nothing received yet from {source.Uri}");
                return SqsSource.S3Events(client, new SqsSourceSettings(source.Name, source.Visibility, Math.Clamp(source.Prefetch, 1, 10)) { Health = health }, filter,
                    deadLetters, Counters);
            }
            default:
                throw new InvalidOperationException($"source '{source.Name}': unknown type '{source.Type}'");
        }
    }

    private static AnnouncementFilter Filter(SourceOptions source)
    {
        var clauses = source.Filters.Select(f =>
        {
            var t = f.Trim();
            var space = t.IndexOf(' ');
            var pattern = t[(space + 1)..].Trim();
            return t.StartsWith("accept", StringComparison.Ordinal) ? FilterClause.AcceptOn(pattern) : FilterClause.RejectOn(pattern);
        });
        return new AnnouncementFilter(clauses, source.AcceptUnmatched);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        injector.Complete();
        foreach (var s in _sources) s.Switch.Shutdown();
        try
        {
            await Task.WhenAll(_sources.Select(s => s.Done)).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            log.LogWarning("Sources did not drain within 30 s; unacked messages will be redelivered");
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_graph is not null)
        {
            try
            {
                await _graph.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                log.LogWarning("The processing graph did not stop within 30 s; its unfinished files are re-driven by their entities");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var o in _owned) await o.DisposeAsync().ConfigureAwait(false);
        foreach (var d in _disposables) d.Dispose();
        _stopping.Dispose();
    }
}
