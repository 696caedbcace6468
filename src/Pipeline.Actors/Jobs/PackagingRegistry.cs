using System.Collections.Immutable;
using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.Jobs;

/// <summary>A stored boundary: its validated GeoJSON geometry, the hash of that text, its box and size.</summary>
public sealed record StoredBoundary(string Name, string Geometry, string Sha256, double West, double South, double East, double North, int Polygons,
    int Vertices, DateTimeOffset DefinedAt);

/// <summary>A boundary without its geometry (the list view).</summary>
public sealed record BoundarySummary(string Name, string Sha256, double West, double South, double East, double North, int Polygons, int Vertices,
    DateTimeOffset DefinedAt);

/// <summary>A job as the index knows it: when it was submitted and, once it finished, how.</summary>
public sealed record PackageJobEntry(string JobId, DateTimeOffset SubmittedAt, PackageJobStatus? Settled);

public sealed record DefineBoundaries(IReadOnlyList<StoredBoundary> Boundaries) : IPackagingRegistryCommand;

public sealed record BoundariesDefined(IReadOnlyList<string> Created, IReadOnlyList<string> Replaced, IReadOnlyList<string> Unchanged) : IPipelineMessage;

public sealed record GetBoundaries : IPackagingRegistryCommand;

public sealed record BoundaryList(IReadOnlyList<BoundarySummary> Boundaries) : IPipelineMessage;

public sealed record GetBoundary(string Name) : IPackagingRegistryCommand;

public sealed record BoundaryFound(string Name, StoredBoundary? Boundary) : IPipelineMessage;

/// <summary>Record a job in the index before it is submitted (idempotent); replies <see cref="PackageJobRegistered"/>.</summary>
public sealed record RegisterPackageJob(string JobId) : IPackagingRegistryCommand;

/// <summary>A job finished (sent by the job; idempotent; no reply).</summary>
public sealed record SettlePackageJob(string JobId, PackageJobStatus Status) : IPackagingRegistryCommand;

public sealed record ListPackageJobs(int Limit = 100) : IPackagingRegistryCommand;

public sealed record PackageJobIndex(IReadOnlyList<PackageJobEntry> Jobs) : IPipelineMessage;

/// <summary>Start (recover) the registry, which wakes every job not yet finished; no reply.</summary>
public sealed record WakePackagingRegistry : IPackagingRegistryCommand;

public interface IPackagingRegistryEvent : IPipelineMessage;

public sealed record BoundaryDefined(StoredBoundary Boundary) : IPackagingRegistryEvent;

public sealed record PackageJobRegistered(string JobId, DateTimeOffset At) : IPackagingRegistryEvent;

public sealed record PackageJobSettled(string JobId, PackageJobStatus Status, DateTimeOffset At) : IPackagingRegistryEvent;

/// <summary>The registry's state: boundaries by name, jobs by id. Pure.</summary>
public sealed record PackagingRegistryState(
    ImmutableSortedDictionary<string, StoredBoundary> Boundaries,
    ImmutableSortedDictionary<string, PackageJobEntry> Jobs) : IPipelineMessage
{
    public static readonly PackagingRegistryState Empty = new(
        ImmutableSortedDictionary<string, StoredBoundary>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableSortedDictionary<string, PackageJobEntry>.Empty.WithComparers(StringComparer.Ordinal));

    public IEnumerable<string> Unsettled => Jobs.Values.Where(j => j.Settled is null).Select(j => j.JobId);

    public (object? Reply, IReadOnlyList<IPackagingRegistryEvent> Events) Handle(IPackagingRegistryCommand command, DateTimeOffset now)
    {
        switch (command)
        {
            case DefineBoundaries d:
            {
                List<string> created = [], replaced = [], unchanged = [];
                var events = new List<IPackagingRegistryEvent>();
                foreach (var b in d.Boundaries)
                {
                    if (Boundaries.TryGetValue(b.Name, out var old) && old.Sha256 == b.Sha256)
                    {
                        unchanged.Add(b.Name);
                        continue;
                    }
                    (old is null ? created : replaced).Add(b.Name);
                    events.Add(new BoundaryDefined(b with { DefinedAt = now }));
                }
                return (new BoundariesDefined(created, replaced, unchanged), events);
            }
            case GetBoundaries:
                return (new BoundaryList([.. Boundaries.Values.Select(b => new BoundarySummary(b.Name, b.Sha256, b.West, b.South, b.East, b.North, b.Polygons, b.Vertices, b.DefinedAt))]), []);
            case GetBoundary g:
                return (new BoundaryFound(g.Name, Boundaries.GetValueOrDefault(g.Name)), []);
            case RegisterPackageJob r:
                return Jobs.ContainsKey(r.JobId) ? (new PackageJobRegistered(r.JobId, Jobs[r.JobId].SubmittedAt), []) : (new PackageJobRegistered(r.JobId, now), [new PackageJobRegistered(r.JobId, now)]);
            case SettlePackageJob s:
                return Jobs.TryGetValue(s.JobId, out var j) && j.Settled == s.Status ? (null, []) : (null, [new PackageJobSettled(s.JobId, s.Status, now)]);
            case ListPackageJobs l:
                return (new PackageJobIndex([.. Jobs.Values.OrderByDescending(x => x.SubmittedAt).ThenBy(x => x.JobId, StringComparer.Ordinal).Take(Math.Max(1, l.Limit))]), []);
            default:
                return (null, []);
        }
    }

    public PackagingRegistryState Apply(IPackagingRegistryEvent e) => e switch
    {
        BoundaryDefined d => this with { Boundaries = Boundaries.SetItem(d.Boundary.Name, d.Boundary) },
        PackageJobRegistered r => Jobs.ContainsKey(r.JobId) ? this : this with { Jobs = Jobs.SetItem(r.JobId, new PackageJobEntry(r.JobId, r.At, null)) },
        PackageJobSettled s => this with
        {
            Jobs = Jobs.SetItem(s.JobId, Jobs.TryGetValue(s.JobId, out var j) ? j with { Settled = s.Status } : new PackageJobEntry(s.JobId, s.At, s.Status)),
        },
        _ => this,
    };
}
