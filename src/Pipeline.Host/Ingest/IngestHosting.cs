using Microsoft.Extensions.Options;
using Pipeline.Actors.Catalog;
using Pipeline.Host.Configuration;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;
using Pipeline.Streams.Mqtt;
using StreamsFetchOptions = Pipeline.Streams.Fetch.FetchOptions;

namespace Pipeline.Host.Ingest;

public static class IngestHosting
{
    /// <summary>
    /// Registers the processing graph and its parts (fetcher, stores, processor, finalizer, notifier, dead letters,
    /// injector) and the <see cref="IngestService"/> that runs them with the configured sources.
    /// </summary>
    public static IServiceCollection AddPipelineIngest(this IServiceCollection services, PipelineSettings settings, DatasetCatalog catalog)
    {
        var ingest = settings.Ingest;
        services.AddSingleton(_ => FetchSettingsOf(ingest, catalog));
        services.AddSingleton(sp => new Fetcher(sp.GetRequiredService<FetchSettings>(), sp.GetService<ILoggerFactory>()));
        services.AddSingleton(_ => new OutputStores(Path.GetFullPath(ingest.Store)));
        services.AddSingleton<FileProcessor>();
        // Kept beside the fetch cache, whose files they name: a restarted node finds the files of unfinalized runs there.
        services.AddSingleton(sp => new LocalFiles(Path.Combine(sp.GetRequiredService<Fetcher>().Cache.Root, "held")));
        services.AddSingleton<IDeadLetterStore>(_ => new FileDeadLetterStore(ingest.DeadLetters));
        services.AddSingleton(sp => Wis2PublisherOf(settings.Wis2));
        services.AddSingleton(sp => new Wis2Notifier(sp.GetRequiredService<Wis2PublisherHolder>().Publisher, sp.GetRequiredService<IDeadLetterStore>()));
        services.AddHttpClient("webhooks", c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton(sp => new RunFinalizer(sp.GetRequiredService<OutputStores>(), sp.GetRequiredService<Fetcher>(), sp.GetRequiredService<LocalFiles>(),
            sp.GetRequiredService<Wis2Notifier>(), sp.GetRequiredService<IHttpClientFactory>().CreateClient("webhooks"),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<RunFinalizer>()));
        services.AddSingleton(sp => new IngestGraph(sp.GetRequiredService<FileWorkQueue>(), sp.GetRequiredService<RunFinalizationQueue>(),
            sp.GetRequiredService<Fetcher>(), sp.GetRequiredService<FileProcessor>(), sp.GetRequiredService<RunFinalizer>(),
            sp.GetRequiredService<Wis2Notifier>(), sp.GetRequiredService<LocalFiles>(), catalog,
            new IngestSettings
            {
                FetchParallelism = ingest.FetchParallelism,
                DecodeParallelism = ingest.DecodeParallelism,
                FinalizeParallelism = ingest.FinalizeParallelism,
            },
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<IngestGraph>()));
        services.AddSingleton<AnnouncementInjector>();
        services.AddSingleton<IngestService>();
        services.AddHostedService(sp => sp.GetRequiredService<IngestService>());
        services.AddSingleton(sp => new CacheHousekeeping(sp.GetRequiredService<Fetcher>(), sp.GetRequiredService<LocalFiles>(), ingest.CacheRetention, ingest.CacheHoldLimit,
            sp.GetRequiredService<ILogger<CacheHousekeeping>>()));
        services.AddHostedService(sp => sp.GetRequiredService<CacheHousekeeping>());
        return services;
    }

    /// <summary>
    /// The fetcher's settings: one try per attempt for a file that is not there yet (the ModelRun entity waits
    /// between attempts on its timer, <c>Fetch.RetryDelay</c> up to <c>Fetch.MaxAttempts</c>), transient errors
    /// retried inside the fetcher, per-host limits from <c>Pipeline:Ingest:Hosts</c>, per-dataset connection caps
    /// and timeouts from each dataset's <c>Fetch</c> section (<c>Fetch:Settings:Urgent=true</c> for the urgent lane).
    /// </summary>
    public static FetchSettings FetchSettingsOf(IngestOptions ingest, DatasetCatalog catalog)
    {
        var allowed = ingest.AllowedHosts.Count > 0 ? ingest.AllowedHosts : ["*"];
        var defaults = new StreamsFetchOptions { AllowedHosts = allowed, NotFoundDeadline = TimeSpan.Zero };
        var datasets = new Dictionary<string, StreamsFetchOptions>(StringComparer.Ordinal);
        foreach (var d in catalog.All)
        {
            var f = d.Options.Fetch;
            datasets[d.Id.Value] = defaults with
            {
                Urgent = f.Settings.TryGetValue("Urgent", out var u) && bool.TryParse(u, out var urgent) && urgent,
                Limits = defaults.Limits with { MaxConnections = Math.Max(1, f.MaxConcurrentPerHost) },
                ResponseTimeout = f.Timeout < defaults.ResponseTimeout ? f.Timeout : defaults.ResponseTimeout,
            };
        }
        return new FetchSettings
        {
            CacheDirectory = Path.GetFullPath(ingest.Cache),
            Defaults = defaults,
            Datasets = datasets,
            Hosts = ingest.Hosts.ToDictionary(h => h.Key, h => new HostLimits(h.Value.RequestsPerSecond, h.Value.MaxConnections, h.Value.BandwidthBytesPerSecond,
                h.Value.Burst), StringComparer.OrdinalIgnoreCase),
            BlockLinkLocal = ingest.BlockLinkLocal,
        };
    }

    /// <summary>The MQTT publisher for our notifications, when a broker is configured.</summary>
    public sealed record Wis2PublisherHolder(MqttPublisher? Publisher);

    private static Wis2PublisherHolder Wis2PublisherOf(Wis2Options wis2)
    {
        if (string.IsNullOrWhiteSpace(wis2.Broker)) return new Wis2PublisherHolder(null);
        var uri = new Uri(wis2.Broker);
        var port = uri.Port > 0 ? uri.Port : uri.Scheme == "mqtts" ? 8883 : 1883;
        return new Wis2PublisherHolder(new MqttPublisher(new MqttConnectionSettings(uri.Host, port, wis2.ClientId)
        {
            UseTls = uri.Scheme == "mqtts",
            Username = wis2.Username,
            Password = wis2.PasswordVariable is { } v ? Environment.GetEnvironmentVariable(v) : null,
        }));
    }
}
