namespace Pipeline.Testing;

/// <summary>
/// The shared corpus beside the repository (<c>../shared/data</c>), or wherever <c>PIPELINE_SHARED</c> points.
/// Nothing from it is ever copied into the project; tests read it in place.
/// </summary>
public static class SharedData
{
    public const string Variable = "PIPELINE_SHARED";

    private static readonly Lazy<string?> Found = new(Locate);

    /// <summary>The <c>shared</c> directory, or null when it is not there.</summary>
    public static string? Root => Found.Value;

    public static string Explain() =>
        $"looked for {Variable} and for a 'shared' directory beside the repository (above {AppContext.BaseDirectory}); " +
        "the corpus tests need ../shared/data next to the clone";

    /// <summary>A path under <c>shared/data</c>; throws with an explanation when the corpus is absent.</summary>
    public static string Data(params string[] parts)
    {
        var root = Root ?? throw new DirectoryNotFoundException(Explain());
        return Path.Combine([root, "data", .. parts]);
    }

    public static IEnumerable<string> GribFiles() =>
        Root is null ? [] : Directory.EnumerateFiles(Data("grib2", "real")).Order(StringComparer.Ordinal);

    private static string? Locate()
    {
        var env = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(env)) return Directory.Exists(Path.Combine(env, "data")) ? Path.GetFullPath(env) : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (File.Exists(Path.Combine(dir.FullName, "PipelineCluster.sln")) || dir.Parent is null)
            {
                // The repository root: shared/ is its sibling.
                var sibling = dir.Parent is null ? null : Path.Combine(dir.Parent.FullName, "shared");
                return sibling is not null && Directory.Exists(Path.Combine(sibling, "data")) ? sibling : null;
            }
            if (Directory.Exists(Path.Combine(candidate, "data", "grib2"))) return candidate;
        }
        return null;
    }
}
