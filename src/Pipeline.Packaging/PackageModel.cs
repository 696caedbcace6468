using Pipeline.Packaging.Boundaries;
using Pipeline.Packaging.Processing;

namespace Pipeline.Packaging;

public enum PackageFormat
{
    /// <summary>Zarr v2, one group per cfgrib hypercube (what <c>pipeline zarr convert</c> writes), clipped and masked; xarray opens it.</summary>
    Zarr,

    /// <summary>The original GRIB2 messages' bytes, copied not re-encoded (no clipping).</summary>
    Grib2,
}

/// <summary>One input file of a package: a local copy of an original GRIB2 file of the run, where it came from, its SHA-256.</summary>
public sealed record PackageInput(string Path, Uri Source, string Sha256, long Bytes);

/// <summary>What to build: one package per (boundary, dataset, run).</summary>
/// <param name="Id">The package's name (lowercase letters, digits, <c>-._</c>); the job id plus the dataset.</param>
/// <param name="Clip">Clip to the boundary's box and mask by its polygon (Zarr only).</param>
public sealed record PackageRequest(
    string Id,
    string Dataset,
    string Run,
    Boundary? Boundary,
    FieldSelection Selection,
    bool Clip,
    PackageFormat Format)
{
    /// <summary>The licence of the data, as Data Package <c>licenses</c> entries (default: the source's terms apply).</summary>
    public string LicenseName { get; init; } = "other-at";

    public string LicenseTitle { get; init; } = "Terms of the data's source apply";

    public string? LicensePath { get; init; }

    public string Software { get; init; } = "PipelineCluster " + (typeof(PackageRequest).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>What started the job (operator, ingest trigger), recorded in the provenance.</summary>
    public string? Trigger { get; init; }
}

/// <summary>A step of building a package: read, select, clip, write, describe.</summary>
public sealed record PackageProgress(string Step, int Done, int Total, string? Detail = null);

/// <summary>A file of a package, as its datapackage.json lists it.</summary>
public sealed record PackageResource(string Name, string Path, long Bytes, string Hash, string MediaType, string Format);

/// <summary>What a package holds and where (keys relative to the store root).</summary>
public sealed record PackageResult(
    string Prefix,
    string DataPackageKey,
    string ProvenanceKey,
    PackageFormat Format,
    int Fields,
    long Cells,
    long InsideCells,
    long Bytes,
    IReadOnlyList<PackageResource> Resources,
    IReadOnlyList<string> Warnings);

/// <summary>The request cannot make a package (nothing selected, the boundary covers no grid point); the message says why.</summary>
public sealed class PackagingException(string message) : Exception(message);
