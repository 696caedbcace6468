using Akka.Actor;
using Akka.Hosting;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.Jobs;
using Pipeline.Host.Configuration;
using Pipeline.Streams.Fetch;
using Pipeline.Streams.Ingest;

namespace Pipeline.Host.Packaging;

public static class PackagingHosting
{
    /// <summary>Binds and validates <c>Pipeline:Packaging</c>; a bad value stops the node at start naming the key.</summary>
    public static PackagingOptions Options(IConfiguration configuration, PipelineSettings? settings = null)
    {
        var options = new PackagingOptions();
        configuration.GetSection(PackagingOptions.Section).Bind(options);
        var errors = options.Errors().ToList();
        for (var d = 0; d < (settings?.Datasets.Count ?? 0); d++)
        {
            var packages = settings!.Datasets[d].Packages;
            for (var i = 0; i < packages.Count; i++)
            {
                var key = $"Pipeline:Datasets:{d}:Packages:{i}";
                var p = packages[i];
                if (p.Format is not ("zarr" or "grib2")) errors.Add($"{key}:Format must be zarr or grib2 (got '{p.Format}')");
                if (p.Clip && p.Format == "grib2") errors.Add($"{key}:Clip must be false for a grib2 package (the original messages are copied)");
                if (p.Clip && string.IsNullOrWhiteSpace(p.Boundary)) errors.Add($"{key}:Boundary is required to clip (or set Clip false)");
                var selection = new Pipeline.Packaging.Processing.FieldSelection(p.Variables, p.Levels, p.Match, p.FromStep, p.ToStep);
                errors.AddRange(selection.Errors().Select(e => $"{key}: {e}"));
            }
        }
        if (errors.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException(PackagingOptions.Section, typeof(PackagingOptions), errors);
        return options;
    }

    /// <summary>
    /// The packaging runner's parts: the intake the job entities offer to, the run inputs, the packaging store, the job
    /// service the endpoints use, the runner (when enabled) and the ingest trigger (packages configured on datasets).
    /// Needs <see cref="AddPipelineIngest"/>'s fetcher and stores.
    /// </summary>
    public static IServiceCollection AddPipelinePackaging(this IServiceCollection services, PackagingOptions options, PipelineSettings settings)
    {
        services.AddSingleton(options);
        services.AddSingleton(new PackageJobQueue(options.QueueCapacity));
        services.AddSingleton<IPackageJobIntake>(sp => sp.GetRequiredService<PackageJobQueue>());
        services.AddSingleton(sp => new RunInputs(sp.GetRequiredService<DatasetCatalog>(), sp.GetRequiredService<OutputStores>(), sp.GetRequiredService<Fetcher>(),
            options.InputDirectory ?? Path.Combine(settings.Ingest.DataDirectory, "packaging", "inputs")));
        services.AddSingleton(sp =>
        {
            var address = options.Store ?? settings.Ingest.Store;
            var local = options.Store is null && !address.StartsWith("s3://", StringComparison.Ordinal);
            return new PackagingStore(sp.GetRequiredService<OutputStores>().Get(address), local);
        });
        services.AddSingleton(sp => new PackageJobService(sp.GetRequiredService<DatasetCatalog>(), sp.GetRequiredService<RunInputs>(),
            sp.GetRequiredService<IRequiredActor<PackageJobRegion>>(), sp.GetRequiredService<IRequiredActor<PackagingRegistryRegion>>(),
            sp.GetRequiredService<IRequiredActor<Pipeline.Actors.DataStreams.DataStreamRegion>>())
        {
            AskTimeout = settings.Management.AskTimeout,
        });
        if (options.Enabled) services.AddHostedService<PackageRunner>();
        services.AddHostedService(sp => new PackageInputHousekeeping(sp.GetRequiredService<RunInputs>(), options.InputRetention,
            sp.GetRequiredService<ILogger<PackageInputHousekeeping>>()));
        services.AddHostedService<PackageTrigger>();
        return services;
    }
}

/// <summary>
/// Packages triggered by ingest: when a run of a dataset with <c>Packages</c> configured is finalized (a new
/// generation), one job per configured package is submitted (trigger <c>ingest:RUN#GENERATION</c>, so a refreshed
/// run is packaged again, while a notice seen twice is one job).
/// </summary>
public sealed class PackageTrigger(ActorSystem system, DatasetCatalog catalog, PackageJobService service, ILogger<PackageTrigger> log)
    : IHostedService
{
    private IActorRef? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!catalog.All.Any(d => d.Options.Packages.Count > 0)) return Task.CompletedTask;
        _listener = system.ActorOf(Props.Create(() => new Listener(this)), "package-trigger");
        system.EventStream.Subscribe(_listener, typeof(RunFinalizedNotice));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is not null) system.EventStream.Unsubscribe(_listener);
        return Task.CompletedTask;
    }

    private async Task SubmitAsync(RunFinalizedNotice notice)
    {
        if (!catalog.TryGet(notice.RunId.Dataset, out var dataset)) return;
        var reftime = ModelRunId.FormatReferenceTime(notice.RunId.ReferenceTime);
        for (var i = 0; i < dataset.Options.Packages.Count; i++)
        {
            var p = dataset.Options.Packages[i];
            try
            {
                var view = await service.SubmitAsync(new PackageJobRequest(null, dataset.Id.Value, reftime, p.Boundary, p.Variables, p.Levels, p.Match, p.FromStep,
                    p.ToStep, p.Clip, p.Format), $"ingest:{notice.RunId}#{notice.Generation}", CancellationToken.None).ConfigureAwait(false);
                log.LogInformation("Run {Run} generation {Generation}: package {Index} submitted as {JobId} ({Created})", notice.RunId, notice.Generation, i,
                    view.JobId, view.Created ? "new" : "known");
            }
            catch (Exception e)
            {
                log.LogWarning("Run {Run}: configured package Pipeline:Datasets:{Dataset}:Packages:{Index} not submitted: {Reason}", notice.RunId, dataset.Id, i, e.Message);
            }
        }
    }

    private sealed class Listener : ReceiveActor
    {
        public Listener(PackageTrigger trigger) => Receive<RunFinalizedNotice>(n => _ = trigger.SubmitAsync(n));
    }
}

/// <summary>Deletes packaging input copies no job used for <c>Pipeline:Packaging:InputRetention</c> (default a day).</summary>
public sealed class PackageInputHousekeeping(RunInputs inputs, TimeSpan retention, ILogger<PackageInputHousekeeping> logger)
    : Pipeline.Host.Ingest.PeriodicSweep("packaging inputs", retention, logger)
{
    protected override Pipeline.Streams.Fetch.CacheSweep Sweep() => inputs.Sweep(Retention);
}
