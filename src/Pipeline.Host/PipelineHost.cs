using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Persistence;
using Pipeline.Actors.Serialization;
using Pipeline.Streams.Ingest;
using Pipeline.Host.Configuration;
using Pipeline.Host.Ingest;
using Pipeline.Host.Management;
using Pipeline.Host.Packaging;
using Pipeline.Actors.Jobs;
using Scalar.AspNetCore;

namespace Pipeline.Host;

/// <summary>
/// Composes one node: settings, the Akka.NET cluster, the management HTTP API, health, OpenAPI and metrics.
/// Features add themselves through their own hosting extensions; this class only composes.
/// </summary>
public static class PipelineHost
{
    /// <summary>Meters whose instruments are exported at <c>/metrics</c>.</summary>
    public const string MeterPrefix = "Pipeline.*";

    /// <param name="args">Host arguments (ASP.NET's own, e.g. <c>--urls</c>, are not used: see Pipeline:Management:Urls).</param>
    /// <param name="configFile">An optional JSON configuration file (<c>--config</c>), above appsettings.json, below environment variables.</param>
    /// <param name="overrides">In-memory values above everything else (tests, demo).</param>
    public static WebApplication Build(string[] args, string? configFile = null, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
                throw new FileNotFoundException($"the configuration file '{configFile}' does not exist", configFile);
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
            builder.Configuration.AddEnvironmentVariables(); // the environment still wins over the file
        }
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);

        var section = builder.Configuration.GetSection(PipelineSettings.Section);
        builder.Services.AddOptions<PipelineSettings>().Bind(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PipelineSettings>, PipelineSettingsValidator>();
        var settings = Validated(section);

        builder.WebHost.UseUrls(settings.Management.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.AddPipelineHealthChecks();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(MeterPrefix).AddPrometheusExporter());

        var catalog = PipelineSettingsValidator.Catalog(settings);
        builder.Services.AddSingleton(catalog);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DomainEndpoints.Timeouts>();
        builder.Services.AddSingleton(new FileWorkQueue(settings.WorkQueueCapacity));
        builder.Services.AddSingleton<IFileWorkIntake>(sp => sp.GetRequiredService<FileWorkQueue>());
        builder.Services.AddSingleton<RunFinalizationQueue>();
        builder.Services.AddSingleton<IRunFinalizationSink>(sp => sp.GetRequiredService<RunFinalizationQueue>());

        builder.Services.AddAkka(settings.Node.SystemName, (akka, _) => akka
            .AddPipelineCluster(settings.Node, settings.Cluster)
            .AddPipelineSerialization()
            .AddPipelinePersistence(settings.Persistence)
            .AddModelRunActor(catalog)
            .AddDataStreamActor(catalog, new DataStreamSettings { WakeOpenRunsEvery = settings.Cluster.RunWakeInterval })
            .AddPackageJobActors());
        // After the actor system's hosted service, so the graph starts once the regions exist.
        builder.Services.AddPipelineIngest(settings, catalog);
        builder.Services.AddPipelinePackaging(PackagingHosting.Options(builder.Configuration, settings), settings);

        var app = builder.Build();
        app.MapPipelineHealthEndpoints();
        app.MapClusterEndpoints();
        app.MapDomainEndpoints();
        app.MapStatusPage();
        app.MapStoreEndpoints(settings.Ingest);
        app.MapDeadLetterEndpoints();
        app.MapPackagingEndpoints();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/docs", options => options.WithTitle("PipelineCluster management API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>
    /// Remoting, clustering with the keep-majority split brain resolver and the failover timings of
    /// <paramref name="cluster"/>, and joining the seeds (or itself).
    /// </summary>
    public static AkkaConfigurationBuilder AddPipelineCluster(this AkkaConfigurationBuilder akka, NodeSettings node, ClusterFailoverSettings? cluster = null)
    {
        cluster ??= new ClusterFailoverSettings();
        akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .WithRemoting(new RemoteOptions
            {
                HostName = node.Hostname,
                PublicHostName = node.PublicHostname ?? node.Hostname,
                Port = node.Port,
            })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = [.. node.SeedNodes],
                Roles = [.. node.Roles],
                SplitBrainResolver = new KeepMajorityOption(),
            })
            // Typed options have none of these (see ClusterFailoverSettings for what each costs and why the defaults are safe).
            .AddHocon(FailoverHocon(node, cluster), HoconAddMode.Prepend);
        if (node.SeedNodes.Count == 0)
            akka.AddStartup((system, _) =>
            {
                var cluster = Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        return akka;
    }

    /// <summary>
    /// The failover timings as HOCON: stable-after, down-removal margin, failure detector pause, shard retry interval,
    /// and the leader's tick (Akka's 1 s): the leader moves a downed member to removed on its next tick after the
    /// survivors have seen the downing, and the removal starts the margin. The tick decides no membership on its own
    /// (downing stays with the split brain resolver, the margin after removal is unchanged); a quarter second
    /// takes ~0.4 s off a failover for a few cheap in-memory checks a second.
    /// </summary>
    public static string FailoverHocon(NodeSettings node, ClusterFailoverSettings cluster)
    {
        static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) + "ms";
        return $"""
            akka.cluster.split-brain-resolver.stable-after = {Ms(cluster.EffectiveStableAfter(node))}
            akka.cluster.down-removal-margin = {Ms(cluster.EffectiveDownRemovalMargin(node))}
            akka.cluster.failure-detector.acceptable-heartbeat-pause = {Ms(cluster.HeartbeatPause)}
            akka.cluster.sharding.retry-interval = {Ms(cluster.ShardRetryInterval)}
            akka.cluster.leader-actions-interval = 250ms
            """;
    }

    /// <summary>Binds and validates at once, so a bad setting stops the node before anything starts.</summary>
    private static PipelineSettings Validated(IConfigurationSection section)
    {
        var settings = new PipelineSettings();
        section.Bind(settings);
        var result = new PipelineSettingsValidator().Validate(null, settings);
        if (result.Failed) throw new OptionsValidationException(PipelineSettings.Section, typeof(PipelineSettings), result.Failures);
        return settings;
    }
}
