using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.Jobs;
using Pipeline.Packaging.Boundaries;
using Pipeline.Packaging.Processing;
using Pipeline.Zarr.Grib;

namespace Pipeline.Host.Packaging;

/// <summary>A job request as the API takes it (also built from a dataset's configured packages).</summary>
public sealed record PackageJobRequest(
    IReadOnlyList<string>? Datasets,
    string? Dataset,
    string? Run,
    string? Boundary,
    IReadOnlyList<string>? Variables,
    IReadOnlyList<string>? Levels,
    string? Match,
    double? FromStep,
    double? ToStep,
    bool? Clip,
    string? Format);

/// <summary>Why a request was refused: <see cref="Status"/> 400 (bad input) or 404/409, and a reason naming the parameter.</summary>
public sealed class JobRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// Turns a job request into a normalised <see cref="PackageJobSpec"/> (datasets known, runs resolved to finalized
/// runs, the boundary stored and covering some grid point, the selection valid), records it in the registry and
/// submits it to its entity, whose id is the hash of the spec: a duplicate submission returns the existing job.
/// </summary>
public sealed class PackageJobService(
    DatasetCatalog catalog,
    RunInputs inputs,
    IRequiredActor<PackageJobRegion> jobs,
    IRequiredActor<PackagingRegistryRegion> registry,
    IRequiredActor<DataStreamRegion> streams)
{
    public TimeSpan AskTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public async Task<PackageJobView> SubmitAsync(PackageJobRequest request, string trigger, CancellationToken cancellationToken)
    {
        var spec = await SpecAsync(request, trigger, cancellationToken).ConfigureAwait(false);
        var id = spec.Identity();
        await registry.ActorRef.Ask<PackageJobRegistered>(new RegisterPackageJob(id), AskTimeout, cancellationToken).ConfigureAwait(false);
        return await jobs.ActorRef.Ask<PackageJobView>(new SubmitPackageJob(id, spec), AskTimeout, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PackageJobSpec> SpecAsync(PackageJobRequest request, string trigger, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        if (request.Dataset is { Length: > 0 } one) names.Add(one);
        if (request.Datasets is not null) names.AddRange(request.Datasets);
        if (names.Count == 0) throw new JobRequestException(400, "datasets: name at least one dataset (\"dataset\" or \"datasets\")");
        var datasets = new List<Dataset>();
        foreach (var n in names.Distinct(StringComparer.Ordinal))
        {
            var d = catalog.All.FirstOrDefault(x => x.Id.Value == n)
                    ?? throw new JobRequestException(400, $"datasets: unknown dataset '{n}'; known: {string.Join(", ", catalog.All.Select(x => x.Id.Value))}");
            datasets.Add(d);
        }

        var format = (request.Format ?? "zarr").ToLowerInvariant();
        if (format is not ("zarr" or "grib2")) throw new JobRequestException(400, $"format: '{request.Format}' is not zarr or grib2");
        var clip = request.Clip ?? (request.Boundary is not null && format == "zarr");
        if (clip && format == "grib2") throw new JobRequestException(400, "clip: a grib2 package copies the original messages and cannot be clipped; use format zarr or clip false");
        if (clip && string.IsNullOrWhiteSpace(request.Boundary)) throw new JobRequestException(400, "boundary: clipping needs a boundary (or set clip false)");
        var selection = new FieldSelection(request.Variables ?? [], request.Levels ?? [], string.IsNullOrEmpty(request.Match) ? null : request.Match,
            request.FromStep, request.ToStep);
        if (selection.Errors() is { Count: > 0 } errors) throw new JobRequestException(400, string.Join("; ", errors));

        Boundary? boundary = null;
        StoredBoundary? stored = null;
        if (!string.IsNullOrWhiteSpace(request.Boundary))
        {
            var found = await registry.ActorRef.Ask<BoundaryFound>(new GetBoundary(request.Boundary), AskTimeout, cancellationToken).ConfigureAwait(false);
            stored = found.Boundary ?? throw new JobRequestException(400, $"boundary: no boundary '{request.Boundary}' is stored; POST it to /api/boundaries first");
            boundary = GeoJsonBoundaries.Parse(stored.Geometry, stored.Name)[0];
        }

        var runs = new List<string>();
        foreach (var d in datasets)
        {
            var run = await ResolveRunAsync(d, request.Run, cancellationToken).ConfigureAwait(false);
            if (boundary is not null && clip) await CheckCoverageAsync(run, boundary, selection, cancellationToken).ConfigureAwait(false);
            runs.Add(run.ToString());
        }

        return new PackageJobSpec(runs, stored?.Name, stored?.Sha256, stored?.Geometry, [.. selection.Variables], [.. selection.Levels], selection.Match,
            selection.FromStep, selection.ToStep, clip, format, trigger).Normalized();
    }

    private async Task<ModelRunId> ResolveRunAsync(Dataset d, string? run, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(run) || run == "latest")
        {
            var seen = await streams.ActorRef.Ask<DataStreamRuns>(new GetDataStreamRuns(d.Id, 20), AskTimeout, cancellationToken).ConfigureAwait(false);
            foreach (var r in seen.Runs)
                if (await inputs.ListAsync(r, cancellationToken).ConfigureAwait(false) is { Count: > 0 })
                    return r;
            throw new JobRequestException(400, $"run: dataset '{d.Id}' has no finalized run yet");
        }
        var text = run.Contains('/') ? run : d.Id.Value + "/" + run;
        if (!ModelRunId.TryParse(text, out var id) || id.Dataset != d.Id)
            throw new JobRequestException(400, $"run: '{run}' is not 'latest' or a reference time like 2026-11-24T00Z");
        if (await inputs.ListAsync(id, cancellationToken).ConfigureAwait(false) is not { Count: > 0 })
            throw new JobRequestException(400, $"run: run {id} is not finalized (no manifest in the dataset's store)");
        return id;
    }

    /// <summary>The boundary must cover at least one grid point of the run's first input (a 400 otherwise, before any job exists).</summary>
    private async Task CheckCoverageAsync(ModelRunId run, Boundary boundary, FieldSelection selection, CancellationToken cancellationToken)
    {
        var files = await inputs.ListAsync(run, cancellationToken).ConfigureAwait(false) ?? [];
        if (files.Count == 0) return;
        Pipeline.Packaging.PackageInput first;
        try
        {
            first = await inputs.FetchAsync(run, files[0], cancellationToken).ConfigureAwait(false);
        }
        catch (InputUnavailableException)
        {
            return; // the job will wait for it and say so
        }
        var records = GribFieldRecord.ReadFile(first.Path);
        var grids = records.GroupBy(r => r.GridKey).Select(g => g.First()).ToList();
        foreach (var g in grids)
        {
            var (lat, lon) = Coordinates(g);
            if (lat.Length == 0) continue;
            var plan = ClipPlan.For(g.Layout, lat, lon, g.Grid.Ny, g.Grid.Nx, boundary);
            if (plan is { InsideCount: > 0 }) return;
        }
        var boxes = string.Join("; ", grids.Select(g => g.Grid.GetBoundingBox() is { } b
            ? string.Create(CultureInfo.InvariantCulture, $"{g.Grid.GridType} [{b.West:0.##}, {b.South:0.##}, {b.East:0.##}, {b.North:0.##}]")
            : g.Grid.GridType).Distinct());
        throw new JobRequestException(400, $"boundary: '{boundary.Name}' {boundary.Box} covers no grid point of {run} (grids: {boxes})");
    }

    private static (double[] Lat, double[] Lon) Coordinates(GribFieldRecord f)
    {
        if (!f.Grid.HasCoordinates) return ([], []);
        var (lat, lon) = f.Grid.GetLatLons();
        if (f.Layout != GridLayout.Regular) return (lat, lon);
        var nx = (int)f.Grid.Nx;
        var ny = (int)f.Grid.Ny;
        var rows = new double[ny];
        for (var j = 0; j < ny; j++) rows[j] = lat[j * nx];
        return (rows, lon[..nx]);
    }
}
