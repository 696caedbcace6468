namespace Pipeline.Grib2.Writing;

/// <summary>
/// Everything the encoder writes around the values of one field: who made it and when (section 1), the grid
/// (section 3), what the field is (section 4) and how the values are packed (section 5).
/// </summary>
/// <param name="Identity">Section 1: centre, reference time, production status, type of data.</param>
/// <param name="Grid">Section 3: a regular latitude/longitude grid (template 3.0).</param>
/// <param name="Product">Section 0 discipline and section 4: parameter, level, forecast time or interval.</param>
/// <param name="Packing">Section 5: simple packing (template 5.0) precision.</param>
public sealed record GribFieldSpec(GribIdentity Identity, RegularLatLonGrid Grid, GribProduct Product, SimplePackingSpec Packing);

/// <summary>Section 1 (identification).</summary>
/// <param name="Centre">Originating centre (common code table C-11): 7 NCEP, 54 Montreal, 98 ECMWF, 255 missing.</param>
/// <param name="ReferenceTime">The reference time (UTC), usually the start of the forecast.</param>
public sealed record GribIdentity(int Centre, DateTime ReferenceTime)
{
    public int SubCentre { get; init; }

    /// <summary>GRIB master tables version (octet 10). ecCodes' GRIB2 sample says 4.</summary>
    public int MasterTablesVersion { get; init; } = 4;

    public int LocalTablesVersion { get; init; }

    /// <summary>Code table 1.2: 1 start of forecast.</summary>
    public int SignificanceOfReferenceTime { get; init; } = 1;

    /// <summary>Code table 1.3: 0 operational, 1 operational test, 2 research, 255 missing.</summary>
    public int ProductionStatus { get; init; }

    /// <summary>Code table 1.4: 0 analysis, 1 forecast, 2 analysis and forecast.</summary>
    public int TypeOfData { get; init; } = 1;
}

/// <summary>
/// A regular latitude/longitude grid (template 3.0) on a spherical earth of radius 6 371 229 m (code table 3.2
/// value 6). Angles are stored in micro-degrees. The values given to the encoder are in the grid's scanning order:
/// with the default scanning mode 0, rows run west to east (+i) and the first row is the northernmost (-j).
/// </summary>
/// <param name="Ni">Points along a parallel.</param>
/// <param name="Nj">Points along a meridian.</param>
/// <param name="FirstLatitude">Latitude of the first grid point (degrees).</param>
/// <param name="FirstLongitude">Longitude of the first grid point (degrees, 0 to 360).</param>
/// <param name="LastLatitude">Latitude of the last grid point (degrees).</param>
/// <param name="LastLongitude">Longitude of the last grid point (degrees, 0 to 360).</param>
/// <param name="IIncrement">i direction increment (degrees, positive).</param>
/// <param name="JIncrement">j direction increment (degrees, positive).</param>
/// <param name="ScanningMode">Flag table 3.4: 0 (+i, -j, rows consecutive), 0x40 (+i, +j), 0x80 (-i, -j), ...</param>
public sealed record RegularLatLonGrid(
    int Ni, int Nj,
    double FirstLatitude, double FirstLongitude,
    double LastLatitude, double LastLongitude,
    double IIncrement, double JIncrement,
    int ScanningMode = 0)
{
    /// <summary>Ni * Nj.</summary>
    public int PointCount => checked(Ni * Nj);

    /// <summary>
    /// A global grid of <paramref name="resolution"/> degrees, north to south, from longitude 0 eastward
    /// (NCEP's GFS layout: 1 degree gives 360 x 181 points).
    /// </summary>
    public static RegularLatLonGrid Global(double resolution)
    {
        var ni = Steps(360, resolution);
        var nj = Steps(180, resolution) + 1;
        return new RegularLatLonGrid(ni, nj, 90, 0, -90, 360 - resolution, resolution, resolution);
    }

    /// <summary>
    /// A regional grid of <paramref name="resolution"/> degrees from (north, west) to (south, east), north to south.
    /// Longitudes from 0 to 360 (west 230 and east 300 for North America).
    /// </summary>
    public static RegularLatLonGrid Regional(double north, double west, double south, double east, double resolution)
    {
        if (north <= south) throw new ArgumentException($"north {north} must be greater than south {south}", nameof(north));
        if (east <= west) throw new ArgumentException($"east {east} must be greater than west {west} (use 0-360 longitudes)", nameof(east));
        var ni = Steps(east - west, resolution) + 1;
        var nj = Steps(north - south, resolution) + 1;
        return new RegularLatLonGrid(ni, nj, north, west, south, east, resolution, resolution);
    }

    private static int Steps(double span, double resolution)
    {
        if (!(resolution > 0)) throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "resolution must be positive");
        var n = span / resolution;
        var r = Math.Round(n);
        if (Math.Abs(n - r) > 1e-6) throw new ArgumentException($"{span} degrees is not a whole number of {resolution} degree steps", nameof(resolution));
        return (int)r;
    }

    /// <summary>Latitude of row <paramref name="j"/> (0-based, in scanning order).</summary>
    public double Latitude(int j) => (ScanningMode & 0x40) != 0 ? FirstLatitude + j * JIncrement : FirstLatitude - j * JIncrement;

    /// <summary>Longitude of column <paramref name="i"/> (0-based, in scanning order), in 0..360.</summary>
    public double Longitude(int i)
    {
        var lon = (ScanningMode & 0x80) != 0 ? FirstLongitude - i * IIncrement : FirstLongitude + i * IIncrement;
        lon %= 360;
        return lon < 0 ? lon + 360 : lon;
    }
}

/// <summary>
/// What the field is (discipline, category and number: code tables 0.0, 4.1, 4.2), on which level, and for which
/// time. Without <see cref="Interval"/> the product is template 4.0 at <see cref="ForecastHours"/>; with it,
/// template 4.8 (statistics over an interval, e.g. an accumulation).
/// </summary>
public sealed record GribProduct(int Discipline, int Category, int Number, GribLevel Level)
{
    /// <summary>Forecast time in hours (template 4.0). Ignored when <see cref="Interval"/> is set.</summary>
    public int ForecastHours { get; init; }

    /// <summary>The statistical interval of template 4.8, or null for template 4.0.</summary>
    public GribInterval? Interval { get; init; }

    /// <summary>Code table 4.3: 0 analysis, 2 forecast.</summary>
    public int TypeOfGeneratingProcess { get; init; } = 2;

    /// <summary>The centre's generating process (model) number; 255 missing.</summary>
    public int GeneratingProcessIdentifier { get; init; } = 255;

    public static GribProduct Temperature(GribLevel level) => new(0, 0, 0, level);
    public static GribProduct RelativeHumidity(GribLevel level) => new(0, 1, 1, level);
    public static GribProduct UWind(GribLevel level) => new(0, 2, 2, level);
    public static GribProduct VWind(GribLevel level) => new(0, 2, 3, level);
    public static GribProduct Pressure(GribLevel level) => new(0, 3, 0, level);

    /// <summary>Pressure reduced to mean sea level (0/3/1, ecCodes <c>prmsl</c>).</summary>
    public static GribProduct PressureReducedToMsl() => new(0, 3, 1, GribLevel.MeanSeaLevel);
    public static GribProduct GeopotentialHeight(GribLevel level) => new(0, 3, 5, level);

    /// <summary>Total precipitation (0/1/8, kg m-2) accumulated from <paramref name="fromHour"/> to <paramref name="toHour"/>.</summary>
    public static GribProduct TotalPrecipitation(int fromHour, int toHour) =>
        new(0, 1, 8, GribLevel.Surface) { Interval = GribInterval.Accumulation(fromHour, toHour) };
}

/// <summary>
/// A statistical time interval (template 4.8): from <see cref="StartHours"/> to <see cref="EndHours"/> after the
/// reference time, processed by <see cref="StatisticalProcess"/> (code table 4.10: 0 average, 1 accumulation,
/// 2 maximum, 3 minimum).
/// </summary>
public sealed record GribInterval(int StartHours, int EndHours, int StatisticalProcess)
{
    public static GribInterval Accumulation(int fromHour, int toHour) => new(fromHour, toHour, 1);
}

/// <summary>
/// The first fixed surface (code table 4.5) and its value in the surface's unit (m for heights, Pa for
/// isobaric levels). The second fixed surface is written as missing.
/// </summary>
public sealed record GribLevel(int Type, double Value)
{
    public static readonly GribLevel Surface = new(1, 0);
    public static readonly GribLevel MeanSeaLevel = new(101, 0);

    /// <summary>Type 103, height above ground in metres (2 m temperature, 10 m wind).</summary>
    public static GribLevel HeightAboveGround(double metres) => new(103, metres);

    /// <summary>Type 100, an isobaric level given in hPa (stored in Pa).</summary>
    public static GribLevel IsobaricHectopascals(double hPa) => new(100, hPa * 100);
}

/// <summary>
/// Simple packing (template 5.0): value = (R + X * 2^E) / 10^D. Give <see cref="BitsPerValue"/> and the encoder
/// picks the smallest binary scale E that fits the range; or give <see cref="BinaryScale"/> and it picks the bits;
/// or give both (the range must then fit). The round-trip error is at most 2^(E-1) / 10^D.
/// </summary>
/// <param name="DecimalScale">D: values are multiplied by 10^D before packing (1 keeps tenths).</param>
/// <param name="BitsPerValue">Bits per packed value (1 to 32), or null to derive from <see cref="BinaryScale"/>.</param>
/// <param name="BinaryScale">E, or null to derive from <see cref="BitsPerValue"/>.</param>
public sealed record SimplePackingSpec(int DecimalScale = 0, int? BitsPerValue = 16, int? BinaryScale = null)
{
    /// <summary>NCEP's style: keep <paramref name="decimalScale"/> decimals exactly (E = 0) with as many bits as needed.</summary>
    public static SimplePackingSpec Decimals(int decimalScale) => new(decimalScale, null, 0);

    /// <summary>ecCodes' style: <paramref name="bits"/> bits over the field's range, no decimal scaling.</summary>
    public static SimplePackingSpec Bits(int bits) => new(0, bits);
}
