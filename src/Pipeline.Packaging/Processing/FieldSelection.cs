using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Grib2.Indexing;
using Pipeline.Zarr.Grib;

namespace Pipeline.Packaging.Processing;

/// <summary>
/// The select and temporal-subset processors: which fields of a run go into a package.
/// <list type="bullet">
/// <item><see cref="Variables"/>: shortName (<c>2t</c>, <c>t</c>), cfgrib name (<c>t2m</c>) or wgrib2 name (<c>TMP</c>), any case.</item>
/// <item><see cref="Levels"/>: <c>typeOfLevel</c> or <c>typeOfLevel:level</c> (<c>isobaricInhPa:850</c>, <c>heightAboveGround</c>).</item>
/// <item><see cref="Match"/>: a regular expression on the field's wgrib2 inventory line, as <c>wgrib2 -match</c>
/// (<c>:TMP:850 mb:</c>).</item>
/// <item><see cref="FromStep"/> / <see cref="ToStep"/>: forecast steps in hours, inclusive.</item>
/// </list>
/// Empty lists and nulls select everything.
/// </summary>
public sealed record FieldSelection(
    IReadOnlyList<string> Variables,
    IReadOnlyList<string> Levels,
    string? Match = null,
    double? FromStep = null,
    double? ToStep = null)
{
    public static readonly FieldSelection All = new([], [], null);

    /// <summary>Every problem with the parameters (a bad regex, a step range the wrong way round), each naming the parameter.</summary>
    public IReadOnlyList<string> Errors()
    {
        var errors = new List<string>();
        if (Match is not null)
        {
            try
            {
                _ = new Regex(Match, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                errors.Add($"match: '{Match}' is not a regular expression: {e.Message}");
            }
        }
        foreach (var l in Levels)
        {
            var colon = l.IndexOf(':');
            if (l.Length == 0 || colon == 0) errors.Add($"levels: '{l}' must be typeOfLevel or typeOfLevel:level");
            else if (colon > 0 && !double.TryParse(l[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                errors.Add($"levels: '{l}': the level after ':' must be a number");
        }
        if (Variables.Any(string.IsNullOrWhiteSpace)) errors.Add("variables: an empty name");
        if (FromStep is { } f && ToStep is { } t && f > t) errors.Add($"steps: fromStep {f} is after toStep {t}");
        return errors;
    }

    public bool Selects(GribFieldRecord r)
    {
        if (FromStep is { } from && r.StepHours < from) return false;
        if (ToStep is { } to && r.StepHours > to) return false;
        if (Variables.Count > 0 && !Variables.Any(v => string.Equals(v, r.Entry.ShortName, StringComparison.OrdinalIgnoreCase)
                                                      || string.Equals(v, r.Variable, StringComparison.OrdinalIgnoreCase)
                                                      || string.Equals(v, r.Entry.Wgrib2Name, StringComparison.OrdinalIgnoreCase)))
            return false;
        if (Levels.Count > 0 && !Levels.Any(l => LevelMatches(l, r))) return false;
        if (Match is not null && !Regex.IsMatch(Idx.Line(r.Entry), Match, RegexOptions.None, TimeSpan.FromSeconds(1))) return false;
        return true;
    }

    private static bool LevelMatches(string spec, GribFieldRecord r)
    {
        var colon = spec.IndexOf(':');
        var type = colon < 0 ? spec : spec[..colon];
        if (!string.Equals(type, r.TypeOfLevel, StringComparison.OrdinalIgnoreCase)) return false;
        return colon < 0 || (double.TryParse(spec[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var level) && level == r.Level);
    }
}
