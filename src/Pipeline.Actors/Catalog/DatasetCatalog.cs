using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Actors.Contracts;

namespace Pipeline.Actors.Catalog;

/// <summary>What the path rules say about one announced file.</summary>
/// <param name="RunId">The model run it belongs to.</param>
/// <param name="Variable">The <c>var</c> group, if the rule has one.</param>
/// <param name="Step">The <c>step</c> group, if the rule has one.</param>
/// <param name="Key">The completeness key: <c>var/step</c>, or the relPath.</param>
public sealed record FileClassification(ModelRunId RunId, string? Variable, string? Step, string Key);

/// <summary>The outcome of classifying an announcement: a classification, or why there is none.</summary>
public readonly record struct ClassifyResult(FileClassification? File, string? Error)
{
    public bool IsMatch => File is not null;
}

/// <summary>One dataset with its compiled path rules.</summary>
public sealed class Dataset
{
    private static readonly string[] DefaultFormats =
    [
        "yyyyMMddHH", "yyyyMMdd'T'HH", "yyyyMMdd'T'HH'Z'", "yyyyMMddHHmm", "yyyyMMdd'T'HHmm", "yyyy-MM-dd'T'HH'Z'",
        "yyyy-MM-dd'T'HH:mm'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH", "yyyyMMdd",
    ];

    private readonly Regex[] _patterns;
    private readonly string[] _formats;

    internal Dataset(DatasetOptions options)
    {
        Options = options;
        Id = new DatasetId(options.Id);
        _patterns = options.PathPatterns
            .Select(p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1)))
            .ToArray();
        _formats = options.ReferenceTimeFormats.Count > 0 ? options.ReferenceTimeFormats.ToArray() : DefaultFormats;
        ExpectedKeys = options.Completeness.ExpectedFiles.ToFrozenSet(StringComparer.Ordinal);
    }

    public DatasetId Id { get; }

    public DatasetOptions Options { get; }

    public FrozenSet<string> ExpectedKeys { get; }

    /// <summary>Maps an announced relPath to a run, variable and step; the error names the dataset and the path.</summary>
    public ClassifyResult Classify(string relPath)
    {
        foreach (var pattern in _patterns)
        {
            var m = pattern.Match(relPath);
            if (!m.Success) continue;
            if (!TryReferenceTime(m, out var reftime, out var error))
                return new ClassifyResult(null, $"dataset '{Id}': path '{relPath}' matched '{pattern}' but {error}");
            var variable = m.Groups["var"] is { Success: true } v ? v.Value : null;
            var step = m.Groups["step"] is { Success: true } s ? s.Value : null;
            var key = variable is not null && step is not null ? variable + "/" + step : relPath;
            return new ClassifyResult(new FileClassification(new ModelRunId(Id, reftime), variable, step, key), null);
        }

        return new ClassifyResult(null, $"dataset '{Id}': path '{relPath}' matches none of its {_patterns.Length} path patterns");
    }

    private bool TryReferenceTime(Match m, out DateTimeOffset reftime, out string? error)
    {
        const DateTimeStyles utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        reftime = default;
        error = null;
        if (m.Groups["reftime"] is { Success: true } r)
        {
            if (DateTimeOffset.TryParseExact(r.Value, _formats, CultureInfo.InvariantCulture, utc, out reftime)) return true;
            error = $"reftime '{r.Value}' fits none of the formats {string.Join(", ", _formats)}";
            return false;
        }

        if (m.Groups["date"] is { Success: true } d)
        {
            if (!DateTimeOffset.TryParseExact(d.Value, ["yyyyMMdd", "yyyy-MM-dd"], CultureInfo.InvariantCulture, utc, out var date))
            {
                error = $"date '{d.Value}' is not yyyyMMdd";
                return false;
            }

            var run = m.Groups["run"] is { Success: true } g ? g.Value : "00";
            if (!int.TryParse(run, NumberStyles.None, CultureInfo.InvariantCulture, out var hhmm) || run.Length is not (2 or 4))
            {
                error = $"run '{run}' is not HH or HHmm";
                return false;
            }

            var (h, min) = run.Length == 2 ? (hhmm, 0) : (hhmm / 100, hhmm % 100);
            if (h > 23 || min > 59)
            {
                error = $"run '{run}' is not a time of day";
                return false;
            }

            reftime = date.AddHours(h).AddMinutes(min);
            return true;
        }

        error = "the pattern has neither a 'reftime' nor a 'date' group";
        return false;
    }
}

/// <summary>The configured datasets, compiled once. Build it with <see cref="Create"/> (validates first).</summary>
public sealed class DatasetCatalog
{
    private readonly FrozenDictionary<string, Dataset> _byId;

    private DatasetCatalog(IEnumerable<Dataset> datasets)
    {
        All = datasets.ToArray();
        _byId = All.ToFrozenDictionary(d => d.Id.Value, StringComparer.Ordinal);
    }

    public IReadOnlyList<Dataset> All { get; }

    /// <summary>Validates and compiles; throws <see cref="DatasetCatalogException"/> listing every bad key.</summary>
    public static DatasetCatalog Create(DatasetCatalogOptions options, string section = DatasetCatalogOptions.Section)
    {
        var errors = DatasetCatalogValidator.Errors(options, section);
        if (errors.Count > 0) throw new DatasetCatalogException(errors);
        return new DatasetCatalog(options.Datasets.Select(d => new Dataset(d)));
    }

    public bool TryGet(DatasetId id, out Dataset dataset) => _byId.TryGetValue(id.Value, out dataset!);

    public Dataset Get(DatasetId id) =>
        TryGet(id, out var d) ? d : throw new KeyNotFoundException($"dataset '{id}' is not in the catalog ({string.Join(", ", _byId.Keys)})");

    /// <summary>The first dataset whose rules match the path.</summary>
    public (Dataset? Dataset, FileClassification? File) Match(string relPath)
    {
        foreach (var d in All)
        {
            var r = d.Classify(relPath);
            if (r.File is not null) return (d, r.File);
        }

        return (null, null);
    }
}

/// <summary>A catalog configuration that does not validate; <see cref="Errors"/> name each key.</summary>
public sealed class DatasetCatalogException(IReadOnlyList<string> errors)
    : Exception("invalid dataset catalog: " + string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
