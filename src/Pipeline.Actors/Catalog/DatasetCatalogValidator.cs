using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Pipeline.Actors.Catalog;

/// <summary>
/// Validates <see cref="DatasetCatalogOptions"/>; every message names the configuration key, e.g.
/// <c>Pipeline:Datasets:0:PathPatterns:1</c>. Register with <c>ValidateOnStart()</c>.
/// </summary>
public sealed class DatasetCatalogValidator : IValidateOptions<DatasetCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, DatasetCatalogOptions options)
    {
        var errors = Errors(options, DatasetCatalogOptions.Section);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static IReadOnlyList<string> Errors(DatasetCatalogOptions options, string section)
    {
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Datasets.Count; i++)
        {
            var d = options.Datasets[i];
            var key = $"{section}:Datasets:{i}";
            if (string.IsNullOrWhiteSpace(d.Id)) errors.Add($"{key}:Id: a dataset needs an id");
            else if (d.Id.Contains('/')) errors.Add($"{key}:Id: '{d.Id}' must not contain '/'");
            else if (!seen.Add(d.Id)) errors.Add($"{key}:Id: '{d.Id}' is configured twice");

            if (d.PathPatterns.Count == 0) errors.Add($"{key}:PathPatterns: at least one pattern is needed");
            for (var p = 0; p < d.PathPatterns.Count; p++)
            {
                var pkey = $"{key}:PathPatterns:{p}";
                Regex regex;
                try
                {
                    regex = new Regex(d.PathPatterns[p], RegexOptions.CultureInvariant);
                }
                catch (ArgumentException e)
                {
                    errors.Add($"{pkey}: not a regular expression: {e.Message}");
                    continue;
                }

                var groups = regex.GetGroupNames();
                if (!groups.Contains("reftime") && !groups.Contains("date"))
                    errors.Add($"{pkey}: needs a named group 'reftime', or 'date' (with optional 'run')");
            }

            var c = d.Completeness;
            if (c.ExpectedCount is <= 0) errors.Add($"{key}:Completeness:ExpectedCount: must be positive, was {c.ExpectedCount}");
            if (c.QuietPeriod is { } q && q <= TimeSpan.Zero) errors.Add($"{key}:Completeness:QuietPeriod: must be positive, was {q}");
            if (c.ExpectedFiles.Count == 0 && c.ExpectedCount is null && c.QuietPeriod is null)
                errors.Add($"{key}:Completeness: set ExpectedFiles, ExpectedCount or QuietPeriod, or runs never complete");
            if (d.Fetch.MaxAttempts < 1) errors.Add($"{key}:Fetch:MaxAttempts: must be at least 1, was {d.Fetch.MaxAttempts}");
            if (!string.Equals(d.Outputs.Format, "zarr2", StringComparison.OrdinalIgnoreCase) && !string.Equals(d.Outputs.Format, "zarr3", StringComparison.OrdinalIgnoreCase))
                errors.Add($"{key}:Outputs:Format: must be zarr2 or zarr3, was '{d.Outputs.Format}'");
            if (!FileZarrModes.IsKnown(d.Outputs.FileZarr))
                errors.Add($"{key}:Outputs:FileZarr: must be {FileZarrModes.Full} or {FileZarrModes.Staging}, was '{d.Outputs.FileZarr}'");
            if (d.Outputs.PublicBaseUrl is { Length: > 0 } pub && (!Uri.TryCreate(pub, UriKind.Absolute, out var pubUri) || pubUri.Scheme is not ("http" or "https")))
                errors.Add($"{key}:Outputs:PublicBaseUrl: must be an http(s) URL, was '{pub}'");
            if (d.Fetch.RetryDelay < TimeSpan.Zero) errors.Add($"{key}:Fetch:RetryDelay: must not be negative");

            if (d.Outputs.Trigger is { } t)
            {
                var tkey = $"{key}:Outputs:Trigger";
                switch (t.Preset)
                {
                    case WebhookOptions.GenericPreset:
                        if (!Uri.TryCreate(t.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                            errors.Add($"{tkey}:Url: an absolute http(s) URL is needed, was '{t.Url}'");
                        break;
                    case WebhookOptions.GitHubRepositoryDispatchPreset:
                        if (string.IsNullOrWhiteSpace(t.Url) && (t.Repository is null || t.Repository.Count(ch => ch == '/') != 1))
                            errors.Add($"{tkey}:Repository: 'owner/name' is needed for the GitHub preset, was '{t.Repository}'");
                        if (string.IsNullOrWhiteSpace(t.EventType)) errors.Add($"{tkey}:EventType: must not be empty");
                        break;
                    default:
                        errors.Add($"{tkey}:Preset: '{t.Preset}' is not one of {WebhookOptions.GenericPreset}, {WebhookOptions.GitHubRepositoryDispatchPreset}");
                        break;
                }
            }
        }

        return errors;
    }
}
