using System.Collections.Frozen;
using System.Globalization;

namespace Pipeline.Grib2.Tables;

/// <summary>Keys a concept condition can test, beyond discipline/category/number (order = generator's KEYS).</summary>
public enum ConceptKey
{
    TypeOfFirstFixedSurface,
    ScaleFactorOfFirstFixedSurface,
    ScaledValueOfFirstFixedSurface,
    TypeOfSecondFixedSurface,
    ScaleFactorOfSecondFixedSurface,
    ScaledValueOfSecondFixedSurface,
    TypeOfStatisticalProcessing,
    ProductDefinitionTemplateNumber,
    ConstituentType,
    IsChemical,
    IsChemicalSrcSink,
    SourceSinkChemicalPhysicalProcess,
    AerosolType,
    IsAerosol,
    ProbabilityType,
    ScaleFactorOfLowerLimit,
    ScaledValueOfLowerLimit,
    LengthOfTimeRange,
    IndicatorOfUnitForTimeRange,
    LocalTablesVersion,
    TypeOfGeneratingProcess,
    GridDefinitionTemplateNumber,
    NumberOfGridInReference,
}

/// <summary>The values of a field's concept keys; a key the message does not have is absent (never matches).</summary>
public sealed class ConceptKeys
{
    public const int Count = (int)ConceptKey.NumberOfGridInReference + 1;
    private readonly long?[] _values = new long?[Count];

    public int Centre { get; set; }
    public int Discipline { get; set; }
    public int ParameterCategory { get; set; }
    public int ParameterNumber { get; set; }

    public long? this[ConceptKey key]
    {
        get => _values[(int)key];
        set => _values[(int)key] = value;
    }
}

/// <summary>What ecCodes calls a parameter: shortName, name, units, and the cfgrib/CF names.</summary>
public sealed record ParameterInfo(string ShortName, string Name, string Units, string CfVarName, string? CfName, string Source)
{
    /// <summary>ecCodes' answer for a parameter no table knows.</summary>
    public static readonly ParameterInfo Unknown = new("unknown", "unknown", "unknown", "unknown", null, "none");
}

/// <summary>
/// discipline/category/number (+ a few more keys) to ecCodes' shortName, name and units, from ecCodes' own
/// definition files (WMO + NCEP kwbc + ECMWF ecmf entries; see tests/tools/gen_grib2_tables.py). Matching follows
/// ecCodes' concepts: the centre's local entries, then WMO; of the entries whose every condition holds, the one with
/// the most conditions wins, the first on a tie. With no match, ECMWF's local entries are tried (as ecCodes' default).
/// </summary>
public static partial class ParameterTable
{
    internal enum Source : byte { Wmo, Kwbc, Ecmf }

    internal sealed record Row(Source Src, int Discipline, int Category, int Number, string ShortName, string Name, string Units, string CfVarName, string CfName, string Extra);

    internal sealed record LevelRow(Source Src, string Name, string Conditions);

    private sealed record Compiled(Row Row, (ConceptKey Key, long Value)[] Conditions);

    private static readonly Lazy<FrozenDictionary<(int, int, int), Compiled[]>> Index = new(Build);

    private static FrozenDictionary<(int, int, int), Compiled[]> Build()
    {
        // Order within a bucket: kwbc, ecmf, wmo (the generator's order).
        return Rows
            .Select(r => new Compiled(r, ParseExtra(r.Extra)))
            .GroupBy(c => (c.Row.Discipline, c.Row.Category, c.Row.Number))
            .ToFrozenDictionary(g => g.Key, g => g.ToArray());
    }

    private static (ConceptKey, long)[] ParseExtra(string extra)
    {
        if (extra.Length == 0) return [];
        return extra.Split(';').Select(p =>
        {
            var eq = p.IndexOf('=');
            return ((ConceptKey)int.Parse(p.AsSpan(0, eq), CultureInfo.InvariantCulture), long.Parse(p.AsSpan(eq + 1), CultureInfo.InvariantCulture));
        }).ToArray();
    }

    /// <summary>Number of parameter entries in the generated table.</summary>
    public static int Count => Rows.Length;

    /// <summary>The parameter for a field's keys; <see cref="ParameterInfo.Unknown"/> when nothing matches.</summary>
    public static ParameterInfo Lookup(ConceptKeys keys)
    {
        var local = keys.Centre switch { 7 => Source.Kwbc, 98 => Source.Ecmf, _ => (Source?)null };
        if (!Index.Value.TryGetValue((keys.Discipline, keys.ParameterCategory, keys.ParameterNumber), out var bucket))
            return ParameterInfo.Unknown;
        var best = Best(bucket, keys, s => s == Source.Wmo || s == local);
        best ??= Best(bucket, keys, s => s == Source.Ecmf);
        if (best is null) return ParameterInfo.Unknown;
        var r = best.Row;
        return new ParameterInfo(r.ShortName, r.Name, r.Units, r.CfVarName, r.CfName.Length == 0 ? null : r.CfName,
            r.Src.ToString().ToLowerInvariant());
    }

    /// <summary>Convenience for discipline/category/number only (no level or statistics keys).</summary>
    public static ParameterInfo Lookup(int centre, int discipline, int category, int number) =>
        Lookup(new ConceptKeys { Centre = centre, Discipline = discipline, ParameterCategory = category, ParameterNumber = number });

    private static Compiled? Best(Compiled[] bucket, ConceptKeys keys, Func<Source, bool> allowed)
    {
        Compiled? best = null;
        var bestCount = -1;
        // Local entries first: they win ties against WMO ones.
        foreach (var pass in new[] { true, false })
        {
            foreach (var c in bucket)
            {
                if (!allowed(c.Row.Src) || (c.Row.Src != Source.Wmo) != pass) continue;
                var ok = true;
                foreach (var (k, v) in c.Conditions)
                {
                    if (keys[k] != v)
                    {
                        ok = false;
                        break;
                    }
                }
                if (ok && c.Conditions.Length > bestCount)
                {
                    best = c;
                    bestCount = c.Conditions.Length;
                }
            }
        }
        return best;
    }

    private static readonly Lazy<(LevelRow Row, (string Key, string Value)[] Conds)[]> Levels = new(() =>
        LevelRows.Select(l => (l, l.Conditions.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => (p[..p.IndexOf('=')].Trim(), p[(p.IndexOf('=') + 1)..].Trim().Trim('\''))).ToArray())).ToArray());

    /// <summary>
    /// ecCodes' typeOfLevel for the fixed surfaces (code table 4.5); <paramref name="pressureUnits"/> is "hPa" unless
    /// an isobaric level is not a whole number of hPa ("Pa"). Null when no entry matches (ecCodes says "unknown").
    /// </summary>
    public static string? TypeOfLevel(int centre, int typeOfFirstFixedSurface, int typeOfSecondFixedSurface, string pressureUnits = "hPa")
    {
        string? best = null;
        var bestCount = -1;
        foreach (var pass in new[] { true, false })
        {
            foreach (var (row, conds) in Levels.Value)
            {
                if ((row.Src != Source.Wmo) != pass) continue;
                if (row.Src == Source.Kwbc && centre != 7) continue;
                var ok = true;
                foreach (var (k, v) in conds)
                {
                    var holds = k switch
                    {
                        "typeOfFirstFixedSurface" => v == typeOfFirstFixedSurface.ToString(CultureInfo.InvariantCulture),
                        "typeOfSecondFixedSurface" => v == typeOfSecondFixedSurface.ToString(CultureInfo.InvariantCulture),
                        "pressureUnits" => v == pressureUnits,
                        _ => false,
                    };
                    if (!holds)
                    {
                        ok = false;
                        break;
                    }
                }
                if (ok && conds.Length > bestCount)
                {
                    best = row.Name;
                    bestCount = conds.Length;
                }
            }
        }
        return best;
    }
}
