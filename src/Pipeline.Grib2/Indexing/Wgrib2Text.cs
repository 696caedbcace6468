using System.Globalization;
using Pipeline.Grib2.Products;

namespace Pipeline.Grib2.Indexing;

/// <summary>The level, forecast and extra texts of wgrib2's short inventory (<c>wgrib2 -s</c>, NOAA's .idx files).</summary>
public static class Wgrib2Text
{
    private static string G(double v) => v.ToString("0.#########", CultureInfo.InvariantCulture);

    private static readonly Dictionary<int, string> Single = new()
    {
        [1] = "surface", [2] = "cloud base", [3] = "cloud top", [4] = "0C isotherm",
        [5] = "level of adiabatic condensation from sfc", [6] = "max wind", [7] = "tropopause", [8] = "top of atmosphere",
        [9] = "sea bottom", [10] = "entire atmosphere", [11] = "cumulonimbus base", [12] = "cumulonimbus top",
        [14] = "level of free convection", [15] = "convection condensation level", [16] = "level of neutral buoyancy",
        [20] = "{0} K level", [100] = "{0} mb", [101] = "mean sea level", [102] = "{0} m above mean sea level",
        [103] = "{0} m above ground", [104] = "{0} sigma level", [105] = "{0} hybrid level", [106] = "{0} m below ground",
        [107] = "{0} K isentropic level", [108] = "{0} mb above ground", [109] = "PV={0} (Km^2/kg/s) surface",
        [111] = "{0} Eta level", [113] = "logarithmic hybrid level", [117] = "mixed layer depth",
        [118] = "{0} hybrid height level", [119] = "{0} hybrid pressure level", [150] = "{0} generalized vertical height coordinate",
        [160] = "{0} m below sea level", [161] = "{0} m below water surface", [162] = "lake or river bottom",
        [200] = "entire atmosphere (considered as a single layer)", [201] = "entire ocean (considered as a single layer)",
        [204] = "highest tropospheric freezing level", [206] = "grid scale cloud bottom level", [207] = "grid scale cloud top level",
        [209] = "boundary layer cloud bottom level", [210] = "boundary layer cloud top level", [211] = "boundary layer cloud layer",
        [212] = "low cloud bottom level", [213] = "low cloud top level", [214] = "low cloud layer", [215] = "cloud ceiling",
        [220] = "planetary boundary layer", [221] = "layer between two hybrid levels", [222] = "middle cloud bottom level",
        [223] = "middle cloud top level", [224] = "middle cloud layer", [232] = "high cloud bottom level",
        [233] = "high cloud top level", [234] = "high cloud layer", [235] = "{0}C ocean isotherm",
        [237] = "bottom of ocean mixed layer", [238] = "bottom of ocean isothermal layer", [240] = "ocean mixed layer",
        [241] = "{0} in sequence", [242] = "convective cloud bottom level", [243] = "convective cloud top level",
        [244] = "convective cloud layer", [245] = "lowest level of the wet bulb zero",
        [246] = "maximum equivalent potential temperature level", [247] = "equilibrium level",
        [248] = "shallow convective cloud bottom level", [249] = "shallow convective cloud top level",
        [251] = "deep convective cloud bottom level", [252] = "deep convective cloud top level",
    };

    private static readonly Dictionary<int, string> Layer = new()
    {
        [20] = "{0}-{1} K layer", [100] = "{0}-{1} mb", [102] = "{0}-{1} m above mean sea level", [103] = "{0}-{1} m above ground",
        [104] = "{0}-{1} sigma layer", [105] = "{0}-{1} hybrid layer", [106] = "{0}-{1} m below ground",
        [107] = "{0}-{1} K isentropic layer", [108] = "{0}-{1} mb above ground", [160] = "{0}-{1} m below sea level",
        [161] = "{0}-{1} m below water surface",
    };

    // Natural value of a surface for wgrib2: pressure in mb, PV in PVU-ish units as wgrib2 prints it.
    private static double Value(FixedSurface s) => s.Type is 100 or 108 ? s.Value / 100.0 : s.Value;

    /// <summary>"500 mb", "2 m above ground", "0-0.1 m below ground", "entire atmosphere (considered as a single layer)".</summary>
    public static string Level(ProductDefinition p)
    {
        if (p.FirstSurface is not { } a) return "unknown level";
        var b = p.SecondSurface ?? new FixedSurface(255, 255, 0xFFFFFFFF);
        if (b.Type == 255 || b.Type == a.Type && Layer.ContainsKey(a.Type) == false && !Single.ContainsKey(a.Type))
            return SingleText(a);
        if (a.Type == b.Type && Layer.TryGetValue(a.Type, out var fmt))
            return string.Format(CultureInfo.InvariantCulture, fmt, G(Value(a)), G(Value(b)));
        if (a.Type == b.Type) return SingleText(a);
        if (a.Type == 1 && b.Type == 8) return "entire atmosphere";
        return $"{SingleText(a)} - {SingleText(b)}";
    }

    private static string SingleText(FixedSurface s)
    {
        if (!Single.TryGetValue(s.Type, out var fmt)) return $"level type {s.Type}" + (s.ValueMissing ? "" : $" {G(s.Value)}");
        return fmt.Contains("{0}", StringComparison.Ordinal) ? string.Format(CultureInfo.InvariantCulture, fmt, G(Value(s))) : fmt;
    }

    private static string UnitName(int unit) => unit switch
    {
        0 => "min", 1 => "hour", 2 => "day", 3 => "month", 4 => "year", 5 => "decade", 6 => "normal", 7 => "century",
        10 => "3 hours", 11 => "6 hours", 12 => "12 hours", 13 => "sec", _ => $"unit{unit}",
    };

    private static string StatName(int type) => type switch
    {
        0 => "ave", 1 => "acc", 2 => "max", 3 => "min", 4 => "last-first", 5 => "RMS", 6 => "StdDev", 7 => "covar",
        8 => "first-last", 9 => "ratio", 10 => "standardized anomaly", 11 => "summation", _ => $"stat{type}",
    };

    /// <summary>"anl", "6 hour fcst", "0-6 hour acc fcst", "15 min fcst".</summary>
    public static string Forecast(ProductDefinition p)
    {
        if (p.ForecastTime is not { } ft || p.IndicatorOfUnitOfTimeRange is not { } unit) return "unknown time";
        var name = UnitName(unit);
        if (p.TimeRanges.Count == 0) return ft == 0 ? "anl" : $"{ft} {name} fcst";
        var r = p.TimeRanges[0];
        var len = ProductDefinition.ConvertTime(r.LengthOfTimeRange, r.IndicatorOfUnitForTimeRange, unit);
        var end = len is { } l && Math.Abs(l - Math.Round(l)) < 1e-9 ? ft + (long)Math.Round(l) : (long?)null;
        var range = end is { } e ? $"{ft}-{e} {name}" : $"{ft} {name}+{r.LengthOfTimeRange} {UnitName(r.IndicatorOfUnitForTimeRange)}";
        return $"{range} {StatName(r.TypeOfStatisticalProcessing)} fcst";
    }

    /// <summary>Ensemble member or probability text that wgrib2 appends (no trailing colon), or "".</summary>
    public static string Extra(ProductDefinition p)
    {
        if (p.TypeOfEnsembleForecast is { } type)
        {
            return type switch
            {
                0 => "ENS=hi-res ctl",
                1 => "ENS=low-res ctl",
                2 => $"ENS=-{p.PerturbationNumber}",
                3 => $"ENS=+{p.PerturbationNumber}",
                _ => $"ENS={p.PerturbationNumber}",
            };
        }
        if (p.DerivedForecast is { } d)
            return d switch { 0 => "ens mean", 1 => "weighted ens mean", 2 => "ens std dev", 3 => "normalized ens std dev", 4 => "ens spread", _ => $"derived fcst {d}" };
        if (p.ProbabilityType is { } pt)
        {
            var lo = G(p.LowerLimit);
            var hi = G(p.UpperLimit);
            var text = pt switch
            {
                0 => $"prob <{lo}",
                1 => $"prob >{hi}",
                2 => $"prob >={lo} <{hi}",
                3 => $"prob >{lo}",
                4 => $"prob <{hi}",
                _ => $"prob type {pt}",
            };
            return $"{text}:prob fcst {p.ForecastProbabilityNumber}/{p.TotalNumberOfForecastProbabilities}";
        }
        if (p.PercentileValue is { } pc) return $"{pc}% level";
        return "";
    }
}
