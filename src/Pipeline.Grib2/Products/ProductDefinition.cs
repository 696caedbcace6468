using System.Globalization;
using Pipeline.Grib2.Grids;
using Pipeline.Grib2.Tables;

namespace Pipeline.Grib2.Products;

/// <summary>One statistical processing time range (templates 4.8 - 4.12, 4.42, 4.43, ...).</summary>
public sealed record TimeRange(
    int TypeOfStatisticalProcessing,
    int TypeOfTimeIncrement,
    int IndicatorOfUnitForTimeRange,
    long LengthOfTimeRange,
    int IndicatorOfUnitForTimeIncrement,
    long TimeIncrement);

/// <summary>A fixed surface (code table 4.5) with its scaled value.</summary>
public readonly record struct FixedSurface(int Type, int ScaleFactorOctet, long ScaledValue)
{
    public bool IsMissing => Type == 255;

    /// <summary>Whether the value octets are all ones ("missing").</summary>
    public bool ValueMissing => ScaleFactorOctet == 255 || ScaledValue == 0xFFFFFFFF;

    /// <summary>The scale factor (sign and magnitude in the octet).</summary>
    public int ScaleFactor => SignMagnitude(ScaleFactorOctet);

    /// <summary>The value: scaledValue * 10^-scaleFactor (0 when missing), as a double.</summary>
    public double Value => ValueMissing ? 0 : ScaledValue * Math.Pow(10, -ScaleFactor);

    internal static int SignMagnitude(int octet) => (octet & 0x80) != 0 ? -(octet & 0x7F) : octet;
}

/// <summary>
/// A product definition (section 4): what the field is (category/number), where (fixed surfaces), when
/// (forecast time, statistical processing), and ensemble / probability / percentile details.
/// Offsets within the template are read by octet number; templates vary in where the common part sits.
/// </summary>
public sealed class ProductDefinition
{
    public int TemplateNumber { get; private set; }
    public int ParameterCategory { get; private set; }
    public int ParameterNumber { get; private set; }
    public int? TypeOfGeneratingProcess { get; private set; }
    public int? BackgroundProcess { get; private set; }
    public int? GeneratingProcessIdentifier { get; private set; }

    /// <summary>Unit of the forecast time (code table 4.4); null when the template has no forecast time.</summary>
    public int? IndicatorOfUnitOfTimeRange { get; private set; }
    public long? ForecastTime { get; private set; }
    public FixedSurface? FirstSurface { get; private set; }
    public FixedSurface? SecondSurface { get; private set; }

    // 4.1 / 4.11 / 4.41 / 4.43
    public int? TypeOfEnsembleForecast { get; private set; }
    public int? PerturbationNumber { get; private set; }
    public int? NumberOfForecastsInEnsemble { get; private set; }

    // 4.2 / 4.12
    public int? DerivedForecast { get; private set; }

    // 4.5 / 4.9
    public int? ForecastProbabilityNumber { get; private set; }
    public int? TotalNumberOfForecastProbabilities { get; private set; }
    public int? ProbabilityType { get; private set; }
    public int? ScaleFactorOfLowerLimit { get; private set; }
    public long? ScaledValueOfLowerLimit { get; private set; }
    public int? ScaleFactorOfUpperLimit { get; private set; }
    public long? ScaledValueOfUpperLimit { get; private set; }

    // 4.6 / 4.10
    public int? PercentileValue { get; private set; }

    // 4.15
    public int? SpatialStatisticalProcess { get; private set; }
    public int? TypeOfSpatialProcessing { get; private set; }
    public int? NumberOfPointsUsed { get; private set; }

    // chemical / aerosol
    public int? ConstituentType { get; private set; }
    public int? AerosolType { get; private set; }

    /// <summary>End of the overall time interval (statistical templates).</summary>
    public DateTime? EndOfOverallTimeInterval { get; private set; }
    public long? NumberOfMissingInStatisticalProcess { get; private set; }
    public IReadOnlyList<TimeRange> TimeRanges { get; private set; } = [];

    /// <summary>Number of vertical coordinate values after the template (octets 6-7).</summary>
    public int NV { get; private set; }

    /// <summary>False when the template is not one this reader knows (category and number are still read).</summary>
    public bool IsKnownTemplate { get; private set; } = true;

    /// <summary>Lower limit of a probability (NaN when absent or missing).</summary>
    public double LowerLimit => Scaled(ScaleFactorOfLowerLimit, ScaledValueOfLowerLimit);

    /// <summary>Upper limit of a probability (NaN when absent or missing).</summary>
    public double UpperLimit => Scaled(ScaleFactorOfUpperLimit, ScaledValueOfUpperLimit);

    private static double Scaled(int? f, long? v) =>
        f is null || v is null || f == 255 || v == 0xFFFFFFFF ? double.NaN : v.Value * Math.Pow(10, -FixedSurface.SignMagnitude(f.Value));

    /// <summary>The first statistical process (code table 4.10), when there is one.</summary>
    public int? TypeOfStatisticalProcessing => TimeRanges.Count > 0 ? TimeRanges[0].TypeOfStatisticalProcessing : null;

    /// <summary>The templates <see cref="Parse"/> reads fully.</summary>
    public static readonly IReadOnlySet<int> SupportedTemplates = new HashSet<int>
        { 0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 15, 30, 31, 32, 40, 41, 42, 43, 44, 45, 46, 47, 48 };

    /// <summary>Reads section 4 (whole, including its 5-octet header). Unknown templates are an error.</summary>
    public static ProductDefinition Parse(ReadOnlySpan<byte> section4, long offset = 0) => Read(section4, offset, lenient: false);

    /// <summary>
    /// Like <see cref="Parse"/> but an unknown template gives a product with only category and number
    /// (<see cref="IsKnownTemplate"/> false), as ecCodes does for templates it has no definition of.
    /// </summary>
    public static ProductDefinition ParseLenient(ReadOnlySpan<byte> section4, long offset = 0) => Read(section4, offset, lenient: true);

    private static ProductDefinition Read(ReadOnlySpan<byte> s, long offset, bool lenient)
    {
        var h = new Octets(s, "product definition", offset, 4);
        if (s.Length < 11) throw h.Error($"section 4 is {s.Length} octets, shorter than its header and parameter octets (11)");
        if (h.U1(5) != 4) throw h.Error($"octet 5 says section {h.U1(5)}, not 4");
        if (h.U4(1) != s.Length) throw h.Error($"section length {h.U4(1)} disagrees with the {s.Length} octets given");
        var t = h.U2(8);
        var o = new Octets(s, $"product definition template 4.{t}", offset, 4);
        var nv = o.U2(6);
        if (!SupportedTemplates.Contains(t))
        {
            if (!lenient) throw o.Error($"product definition template 4.{t} is not supported");
            return new ProductDefinition { TemplateNumber = t, ParameterCategory = o.U1(10), ParameterNumber = o.U1(11), NV = nv, IsKnownTemplate = false };
        }
        // Where the 4.0-like block (typeOfGeneratingProcess .. second surface) starts, and the extras after it.
        int common = t switch
        {
            40 or 41 or 42 or 43 => 14,
            44 => 25, // aerosolType(2), size interval (11) before it
            45 or 46 or 47 => 25,
            48 => 36,
            _ => 12,
        };
        if (t is 30 or 31 or 32)
            return Satellite(o, t, nv);
        // 4.44 as WMO first published it has a 2-octet forecast time (ecCodes: when the section is 45 octets + NV*4).
        var shortForecastTime = t == 44 && s.Length - 4 * nv == 45;
        var need = common + 23 - (shortForecastTime ? 2 : 0);
        if (s.Length < need - 1) throw o.Error($"section 4 is {s.Length} octets; the template needs at least {need - 1}");
        return Build(o, t, nv, common, shortForecastTime);
    }

    private static ProductDefinition Satellite(Octets o, int t, int nv) => new()
    {
        TemplateNumber = t,
        ParameterCategory = o.U1(10),
        ParameterNumber = o.U1(11),
        TypeOfGeneratingProcess = o.U1(12),
        NV = nv,
    };

    private static ProductDefinition Build(Octets o, int t, int nv, int c, bool shortForecastTime = false)
    {
        var sh = shortForecastTime ? 2 : 0;
        var p = new ProductDefinition
        {
            TemplateNumber = t,
            NV = nv,
            ParameterCategory = o.U1(10),
            ParameterNumber = o.U1(11),
            ConstituentType = t is >= 40 and <= 43 ? o.U2(12) : null,
            AerosolType = t is >= 44 and <= 48 ? o.U2(12) : null,
            TypeOfGeneratingProcess = o.U1(c),
            BackgroundProcess = o.U1(c + 1),
            GeneratingProcessIdentifier = o.U1(c + 2),
            IndicatorOfUnitOfTimeRange = o.U1(c + 6),
            ForecastTime = shortForecastTime ? o.U2(c + 7) : o.S4(c + 7),
            FirstSurface = new FixedSurface(o.U1(c + 11 - sh), o.U1(c + 12 - sh), o.U4(c + 13 - sh)),
            SecondSurface = new FixedSurface(o.U1(c + 17 - sh), o.U1(c + 18 - sh), o.U4(c + 19 - sh)),
        };
        var at = c + 23 - sh; // first octet after the second fixed surface (35 for 4.0)
        switch (t)
        {
            case 1 or 11 or 41 or 43 or 45 or 47:
                p.TypeOfEnsembleForecast = o.U1(at);
                p.PerturbationNumber = o.U1(at + 1);
                p.NumberOfForecastsInEnsemble = o.U1(at + 2);
                at += 3;
                break;
            case 2 or 12:
                p.DerivedForecast = o.U1(at);
                p.NumberOfForecastsInEnsemble = o.U1(at + 1);
                at += 2;
                break;
            case 5 or 9:
                p.ForecastProbabilityNumber = o.U1(at);
                p.TotalNumberOfForecastProbabilities = o.U1(at + 1);
                p.ProbabilityType = o.U1(at + 2);
                p.ScaleFactorOfLowerLimit = o.U1(at + 3);
                p.ScaledValueOfLowerLimit = o.U4(at + 4);
                p.ScaleFactorOfUpperLimit = o.U1(at + 8);
                p.ScaledValueOfUpperLimit = o.U4(at + 9);
                at += 13;
                break;
            case 6 or 10:
                p.PercentileValue = o.U1(at);
                at += 1;
                break;
            case 15:
                p.SpatialStatisticalProcess = o.U1(at);
                p.TypeOfSpatialProcessing = o.U1(at + 1);
                at += 2;
                p.NumberOfPointsUsed = o.Has(at, 1) ? o.U1(at) : null;
                break;
        }
        if (t is 8 or 9 or 10 or 11 or 12 or 42 or 43 or 46 or 47)
            Statistics(o, p, at);
        return p;
    }

    private static void Statistics(Octets o, ProductDefinition p, int at)
    {
        var year = o.U2(at);
        int month = o.U1(at + 2), day = o.U1(at + 3), hour = o.U1(at + 4), minute = o.U1(at + 5), second = o.U1(at + 6);
        if (year is >= 1 and <= 9999 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month) &&
            hour < 24 && minute < 60 && second < 60)
            p.EndOfOverallTimeInterval = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        var n = o.U1(at + 7);
        p.NumberOfMissingInStatisticalProcess = o.U4(at + 8);
        var r = at + 12;
        if (n == 0) throw o.Error("number of time ranges is 0 in a statistically processed template");
        if (!o.Has(r, n * 12))
            throw o.Error($"{n} time ranges need octets {r}-{r + n * 12 - 1}, past the section's {o.Length} octets");
        var ranges = new TimeRange[n];
        for (var i = 0; i < n; i++, r += 12)
            ranges[i] = new TimeRange(o.U1(r), o.U1(r + 1), o.U1(r + 2), o.U4(r + 3), o.U1(r + 7), o.U4(r + 8));
        p.TimeRanges = ranges;
    }

    /// <summary>Forecast time in <paramref name="unit"/> (code table 4.4), or null when it has none or the unit does not divide.</summary>
    public static double? ConvertTime(long value, int fromUnit, int toUnit)
    {
        var a = UnitSeconds(fromUnit);
        var b = UnitSeconds(toUnit);
        if (a is null || b is null) return null;
        return (double)value * a.Value / b.Value;
    }

    /// <summary>Seconds in a unit of code table 4.4 (months, years as 30/365 days are not exact: null).</summary>
    public static long? UnitSeconds(int unit) => unit switch
    {
        0 => 60,
        1 => 3600,
        2 => 86400,
        10 => 3 * 3600,
        11 => 6 * 3600,
        12 => 12 * 3600,
        13 => 1,
        _ => null,
    };

    /// <summary>ecCodes' startStep in hours (null when there is no forecast time or the unit is calendar-based).</summary>
    public double? StartStepHours =>
        ForecastTime is { } ft && IndicatorOfUnitOfTimeRange is { } u ? ConvertTime(ft, u, 1) : null;

    /// <summary>ecCodes' endStep in hours: startStep plus the (first) statistical time range.</summary>
    public double? EndStepHours
    {
        get
        {
            var start = StartStepHours;
            if (start is null || TimeRanges.Count == 0) return start;
            var r = TimeRanges[0];
            var len = ConvertTime(r.LengthOfTimeRange, r.IndicatorOfUnitForTimeRange, 1);
            return len is null ? null : start + len;
        }
    }

    /// <summary>
    /// ecCodes' stepRange: "start" or "start-end" (just "start" when they are equal), in hours when both are whole
    /// hours, otherwise in the forecast time's own unit (ecCodes 2.28 switches stepUnits the same way).
    /// </summary>
    public string? StepRange
    {
        get
        {
            if (ForecastTime is null || IndicatorOfUnitOfTimeRange is not { } unit) return null;
            static bool Whole(double? v) => v is { } x && Math.Abs(x - Math.Round(x)) < 1e-9;
            static string F(double v) => ((long)Math.Round(v)).ToString(CultureInfo.InvariantCulture);
            double? s = StartStepHours, e = EndStepHours;
            if (!Whole(s) || !Whole(e))
            {
                s = ForecastTime;
                e = s;
                if (TimeRanges.Count > 0)
                {
                    var r = TimeRanges[0];
                    var len = ConvertTime(r.LengthOfTimeRange, r.IndicatorOfUnitForTimeRange, unit);
                    e = len is null ? null : s + len;
                }
                if (e is null || UnitSeconds(unit) is null) return $"{ForecastTime}{UnitSuffix(unit)}";
            }
            return e is null || Math.Abs(e.Value - s!.Value) < 1e-9 ? F(s!.Value) : $"{F(s!.Value)}-{F(e.Value)}";
        }
    }

    private static string UnitSuffix(int unit) => unit switch
    {
        0 => "m", 1 => "", 2 => "D", 3 => "M", 4 => "Y", 5 => "10Y", 6 => "30Y", 7 => "C", 10 => "3h", 11 => "6h", 12 => "12h", 13 => "s", _ => $"u{unit}",
    };

    /// <summary>
    /// ecCodes' level and typeOfLevel: the first surface's value in its natural unit (hPa for isobaric levels
    /// unless not whole hPa, then Pa; PVU for potential vorticity), and the level type name.
    /// </summary>
    public (double Level, string? TypeOfLevel) Level(int centre)
    {
        if (FirstSurface is not { } f) return (0, null);
        var second = SecondSurface?.Type ?? 255;
        var v = LevelValue(f);
        var units = "hPa";
        if (f.Type == 100)
        {
            var pa = v;
            if (Math.Abs(pa / 100.0 - Math.Round(pa / 100.0)) > 1e-9) units = "Pa";
            else v = pa / 100.0;
        }
        var name = ParameterTable.TypeOfLevel(centre, f.Type, second, units);
        return (v, name);
    }

    private static double LevelValue(FixedSurface f)
    {
        if (f.ValueMissing) return 0;
        var scale = f.ScaleFactor;
        if (f.Type == 109) scale -= 6; // potential vorticity in 10^-6 K m2 kg-1 s-1 (PVU)
        double v = f.ScaledValue;
        while (scale < 0 && v != 0) { v *= 10; scale++; }
        while (scale > 0 && v != 0) { v /= 10; scale--; }
        return v;
    }

    /// <summary>The keys ecCodes' parameter concepts test, for <see cref="ParameterTable.Lookup(ConceptKeys)"/>.</summary>
    public ConceptKeys ConceptKeys(int centre, int discipline, int? localTablesVersion = null, int? gridTemplate = null)
    {
        var k = new ConceptKeys { Centre = centre, Discipline = discipline, ParameterCategory = ParameterCategory, ParameterNumber = ParameterNumber };
        k[ConceptKey.ProductDefinitionTemplateNumber] = TemplateNumber;
        k[ConceptKey.LocalTablesVersion] = localTablesVersion;
        k[ConceptKey.GridDefinitionTemplateNumber] = gridTemplate;
        k[ConceptKey.TypeOfGeneratingProcess] = TypeOfGeneratingProcess;
        if (FirstSurface is { } f)
        {
            k[ConceptKey.TypeOfFirstFixedSurface] = f.Type;
            k[ConceptKey.ScaleFactorOfFirstFixedSurface] = f.ScaleFactorOctet == 255 ? null : f.ScaleFactor;
            k[ConceptKey.ScaledValueOfFirstFixedSurface] = f.ScaledValue == 0xFFFFFFFF ? null : f.ScaledValue;
        }
        if (SecondSurface is { } s)
        {
            k[ConceptKey.TypeOfSecondFixedSurface] = s.Type;
            k[ConceptKey.ScaleFactorOfSecondFixedSurface] = s.ScaleFactorOctet == 255 ? null : s.ScaleFactor;
            k[ConceptKey.ScaledValueOfSecondFixedSurface] = s.ScaledValue == 0xFFFFFFFF ? null : s.ScaledValue;
        }
        if (TimeRanges.Count > 0)
        {
            k[ConceptKey.TypeOfStatisticalProcessing] = TimeRanges[0].TypeOfStatisticalProcessing;
            k[ConceptKey.LengthOfTimeRange] = TimeRanges[0].LengthOfTimeRange;
            k[ConceptKey.IndicatorOfUnitForTimeRange] = TimeRanges[0].IndicatorOfUnitForTimeRange;
        }
        k[ConceptKey.IsChemical] = TemplateNumber is >= 40 and <= 43 ? 1 : 0;
        k[ConceptKey.IsAerosol] = TemplateNumber is >= 44 and <= 47 || TemplateNumber == 48 ? 1 : 0;
        k[ConceptKey.IsChemicalSrcSink] = TemplateNumber is 76 or 77 or 78 or 79 ? 1 : 0;
        k[ConceptKey.ConstituentType] = ConstituentType;
        k[ConceptKey.AerosolType] = AerosolType;
        k[ConceptKey.ProbabilityType] = ProbabilityType;
        k[ConceptKey.ScaleFactorOfLowerLimit] = ScaleFactorOfLowerLimit is { } lf ? FixedSurface.SignMagnitude(lf) : null;
        k[ConceptKey.ScaledValueOfLowerLimit] = ScaledValueOfLowerLimit;
        return k;
    }
}
