using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.Jobs;

/// <summary>
/// A package configured on a dataset (<c>Pipeline:Datasets:N:Packages:M</c>): rebuilt for every run of the dataset
/// when the run is finalized, as a packaging job triggered by ingest.
/// </summary>
public sealed record DatasetPackageOptions
{
    /// <summary>The stored boundary to clip to (required unless <see cref="Clip"/> is false).</summary>
    public string? Boundary { get; init; }

    public List<string> Variables { get; init; } = [];

    public List<string> Levels { get; init; } = [];

    /// <summary>A wgrib2-style regular expression on the inventory line.</summary>
    public string? Match { get; init; }

    public double? FromStep { get; init; }

    public double? ToStep { get; init; }

    public bool Clip { get; init; } = true;

    /// <summary><c>zarr</c> (default) or <c>grib2</c>.</summary>
    public string Format { get; init; } = "zarr";
}

/// <summary>Published on the node's event stream when a ModelRun entity persisted that a run generation is finalized.</summary>
public sealed record RunFinalizedNotice(ModelRunId RunId, int Generation);
