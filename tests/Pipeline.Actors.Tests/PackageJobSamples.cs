using System.Collections.Immutable;
using Pipeline.Actors.Jobs;

namespace Pipeline.Actors.Tests;

/// <summary>One sample of every packaging message, for the serializer's round-trip specs.</summary>
internal static class PackageJobSamples
{
    public static readonly PackageJobSpec Spec = new(["pkg.model/2026-11-24T00Z"], "Area", "ab12", """{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}""",
        ["2t", "t"], ["isobaricInhPa:850"], ":TMP:", 0, 12, true, "zarr", "api");

    public static IEnumerable<object> All(DateTimeOffset t)
    {
        const string id = "pkg-0123456789abcdef0123";
        var step = new PackageJobStep("pkg.model", "write", 3, 12, "isobaricInhPa/t");
        var output = new PackageJobOutput("pkg.model/2026-11-24T00Z", "packages/x/pkg.model", "packages/x/pkg.model/datapackage.json", "file:///s/packages/x",
            "/store/packages/x", 12, 56, 39, 26423, 31, ["a warning"]);
        var state = PackageJobState.Empty(id).Apply(new PackageJobSubmitted(Spec, t)).Apply(new PackageJobAttemptStarted(1, t))
            .Apply(new PackageJobProgressed(1, step, t));
        var boundary = new StoredBoundary("Area", Spec.BoundaryGeometry!, "ab12", 0, 0, 1, 1, 1, 4, t);
        var registry = PackagingRegistryState.Empty.Apply(new BoundaryDefined(boundary)).Apply(new PackageJobRegistered(id, t))
            .Apply(new PackageJobSettled(id, PackageJobStatus.Succeeded, t));
        return
        [
            new SubmitPackageJob(id, Spec),
            new GetPackageJob(id),
            new CancelPackageJob(id, "operator"),
            new WakePackageJob(id),
            new ReportPackageJobProgress(id, 2, step),
            new ReportPackageJobSucceeded(id, 2, [output]),
            new ReportPackageJobFailed(id, 2, "why"),
            new PackageJobAck(id, 2, false),
            state.View(created: true),
            new PackageJobSubmitted(Spec with { Match = null, FromStep = null }, t),
            new PackageJobAttemptStarted(3, t),
            new PackageJobProgressed(3, step, t),
            new PackageJobSucceeded(3, [output], t),
            new PackageJobFailed(3, "no input", t),
            new PackageJobCancelled("operator", t),
            state,
            new DefineBoundaries([boundary]),
            new GetBoundaries(),
            new GetBoundary("Area"),
            new RegisterPackageJob(id),
            new SettlePackageJob(id, PackageJobStatus.Cancelled),
            new ListPackageJobs(5),
            new WakePackagingRegistry(),
            new BoundariesDefined(["Area"], [], ["Other"]),
            new BoundaryList([new BoundarySummary("Area", "ab12", 0, 0, 1, 1, 1, 4, t)]),
            new BoundaryFound("Area", boundary),
            new PackageJobIndex([new PackageJobEntry(id, t, null)]),
            new BoundaryDefined(boundary),
            new PackageJobRegistered(id, t),
            new PackageJobSettled(id, PackageJobStatus.Failed, t),
            registry,
        ];
    }
}
