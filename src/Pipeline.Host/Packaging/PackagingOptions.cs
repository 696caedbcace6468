namespace Pipeline.Host.Packaging;

/// <summary><c>Pipeline:Packaging</c>: on-demand packaging jobs on this node.</summary>
public sealed class PackagingOptions
{
    public const string Section = "Pipeline:Packaging";

    /// <summary>Run packaging jobs on this node (the entities exist on every node; the runner only where enabled).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where packages are written (directory, <c>file://</c>, <c>s3://bucket/prefix</c>); default: the node's default store.</summary>
    public string? Store { get; set; }

    /// <summary>Local copies of the runs' original GRIB2 files (default <c>{Ingest:DataDirectory}/packaging/inputs</c>).</summary>
    public string? InputDirectory { get; set; }

    /// <summary>A local input copy not used by any job for this long is deleted (a later job downloads it again).</summary>
    public TimeSpan InputRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Jobs run at once on this node.</summary>
    public int Parallelism { get; set; } = 1;

    /// <summary>Jobs waiting for the runner before the entities are told to wait (back-pressure).</summary>
    public int QueueCapacity { get; set; } = 256;

    /// <summary>An input file that is not (yet) downloadable is tried again after this long...</summary>
    public TimeSpan InputRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>...until this long has passed; then the job fails naming the file.</summary>
    public TimeSpan InputWaitLimit { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Progress is reported to the job entity (and persisted) at most this often per job.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The licence written into every datapackage.json (<c>name</c>, <c>title</c>, optional <c>path</c>).</summary>
    public string LicenseName { get; set; } = "other-at";

    public string LicenseTitle { get; set; } = "Terms of the data's source apply";

    public string? LicensePath { get; set; }

    public IReadOnlyList<string> Errors()
    {
        const string s = Section + ":";
        var errors = new List<string>();
        if (Parallelism is < 1 or > 64) errors.Add($"{s}Parallelism must be 1..64 (got {Parallelism})");
        if (QueueCapacity is < 1 or > 100_000) errors.Add($"{s}QueueCapacity must be 1..100000 (got {QueueCapacity})");
        if (InputRetryDelay <= TimeSpan.Zero) errors.Add($"{s}InputRetryDelay must be positive (got {InputRetryDelay})");
        if (InputWaitLimit < TimeSpan.Zero) errors.Add($"{s}InputWaitLimit must not be negative (got {InputWaitLimit})");
        if (InputRetention < TimeSpan.FromSeconds(1)) errors.Add($"{s}InputRetention must be at least 00:00:01 (got {InputRetention})");
        if (string.IsNullOrWhiteSpace(LicenseName)) errors.Add($"{s}LicenseName must be set");
        return errors;
    }
}
