namespace Pipeline.Grib2.Grids;

/// <summary>
/// A grid definition (section 3) with the coordinates of its points. One subclass per grid family
/// (one file each); <see cref="Parse"/> picks the family from the template number.
/// </summary>
public abstract class GridDefinition
{
    private protected GridDefinition(in GridCommon common)
    {
        TemplateNumber = common.TemplateNumber;
        NumberOfDataPoints = common.NumberOfDataPoints;
        Earth = common.Earth;
        PointsPerRow = common.PointsPerRow;
    }

    /// <summary>Grid definition template number (3.N).</summary>
    public int TemplateNumber { get; }

    /// <summary>Number of data points (section 3 octets 7-10).</summary>
    public long NumberOfDataPoints { get; }

    /// <summary>The earth model (code table 3.2).</summary>
    public EarthShape Earth { get; }

    /// <summary>ecCodes' <c>gridType</c> name (regular_ll, lambert, ...).</summary>
    public abstract string GridType { get; }

    /// <summary>Points along a row (ecCodes Nx/Ni); -1 (missing) for reduced grids.</summary>
    public abstract long Nx { get; }

    /// <summary>Rows (ecCodes Ny/Nj).</summary>
    public abstract long Ny { get; }

    /// <summary>The scanning mode flags (flag table 3.4); default for grids that have none.</summary>
    public virtual ScanningMode Scanning => default;

    /// <summary>Points per row of a reduced grid (the optional list after the template), else empty.</summary>
    public IReadOnlyList<int> PointsPerRow { get; }

    /// <summary>Whether the grid defines a latitude and longitude for each point (3.101 unstructured does not).</summary>
    public virtual bool HasCoordinates => true;

    /// <summary>The number of points <see cref="GetLatLons"/> fills.</summary>
    public virtual long PointCount => NumberOfDataPoints;

    /// <summary>
    /// Fills the latitude and longitude (degrees) of every point in the order ecCodes' <c>latitudes</c> /
    /// <c>longitudes</c> keys give them (its geoiterator order).
    /// </summary>
    public abstract void GetLatLons(Span<double> lat, Span<double> lon);

    /// <summary>Allocating convenience over <see cref="GetLatLons(Span{double},Span{double})"/>.</summary>
    public (double[] Lat, double[] Lon) GetLatLons()
    {
        var n = checked((int)PointCount);
        var lat = new double[n];
        var lon = new double[n];
        GetLatLons(lat, lon);
        return (lat, lon);
    }

    /// <summary>The bounding box of every point; null when the grid has no coordinates.</summary>
    public virtual BoundingBox? GetBoundingBox()
    {
        if (!HasCoordinates) return null;
        var (lat, lon) = GetLatLons();
        return BoundingBox.FromPoints(lat, lon);
    }

    private protected void CheckSpans(Span<double> lat, Span<double> lon)
    {
        if (!HasCoordinates)
            throw new NotSupportedException($"grid template 3.{TemplateNumber} ({GridType}) does not define coordinates for its points");
        if (lat.Length < PointCount || lon.Length < PointCount)
            throw new ArgumentException($"grid has {PointCount} points; the spans hold {lat.Length} and {lon.Length}");
    }

    /// <summary>Reads section 3 (whole, including its 5-octet header).</summary>
    /// <param name="section3">The section bytes.</param>
    /// <param name="offset">Absolute offset of the message or section, for error messages.</param>
    public static GridDefinition Parse(ReadOnlySpan<byte> section3, long offset = 0)
    {
        var o = new Octets(section3, "grid definition", offset, 3);
        if (section3.Length < 14) throw o.Error($"section 3 is {section3.Length} octets, shorter than its 14-octet header");
        if (o.U1(5) != 3) throw o.Error($"octet 5 says section {o.U1(5)}, not 3");
        var declared = o.U4(1);
        if (declared != section3.Length) throw o.Error($"section length {declared} disagrees with the {section3.Length} octets given");
        var template = o.U2(13);
        var o2 = new Octets(section3, $"grid definition template 3.{template}", offset, 3);
        var common = new GridCommon
        {
            TemplateNumber = template,
            NumberOfDataPoints = o.U4(7),
            Earth = template is 32768 or 32769 or 0 or 1 or 10 or 20 or 30 or 40 or 90 or 101 or 2 or 3 or 4 or 5 or 12 or 31 or 41 or 42 or 43
                ? EarthShape.Read(o2, template == 101 ? -1 : 15)
                : EarthShape.Unknown,
            PointsPerRow = ReadList(o2, template),
        };
        if (common.NumberOfDataPoints == 0) throw o2.Error("number of data points is 0");
        return template switch
        {
            0 => LatLonGrid.Read(o2, common, rotated: false),
            1 => LatLonGrid.Read(o2, common, rotated: true),
            10 => MercatorGrid.Read(o2, common),
            20 => PolarStereographicGrid.Read(o2, common),
            30 => LambertConformalGrid.Read(o2, common),
            40 => GaussianGrid.Read(o2, common),
            90 => SpaceViewGrid.Read(o2, common),
            101 => UnstructuredGrid.Read(o2, common),
            32769 => NcepStaggeredGrid.Read(o2, common),
            150 => throw o2.Error("HEALPix grids (template 3.150) are not supported: their points cannot be placed"),
            _ => throw o2.Error($"grid definition template 3.{template} is not supported"),
        };
    }

    private static int[] ReadList(Octets o, int template)
    {
        var width = o.U1(11);
        if (width == 0) return [];
        var start = template switch
        {
            0 or 40 => 73,
            1 => 85,
            _ => -1,
        };
        if (start < 0) return [];
        if (width is not (1 or 2 or 4)) throw o.Error($"octet 11 gives {width} octets per list entry (1, 2 or 4 expected)");
        var count = (o.Length - (start - 1)) / width;
        if (count <= 0) throw o.Error($"the list of points per row (from octet {start}) is empty or lies past the section");
        var list = new int[count];
        for (var i = 0; i < count; i++)
        {
            var at = start + i * width;
            long v = width switch { 1 => o.U1(at), 2 => o.U2(at), _ => o.U4(at) };
            if (v > int.MaxValue) throw o.Error($"points-per-row entry {i + 1} is {v}");
            list[i] = (int)v;
        }
        return list;
    }

    /// <summary>Angles of templates 3.0/3.1/3.40: degrees = value * basicAngle / subdivisions, or micro-degrees.</summary>
    internal static double AngleUnit(Octets o, int basicOctet, int subOctet)
    {
        var basic = o.U4(basicOctet);
        var sub = o.U4(subOctet);
        if (basic == 0 || basic == 0xFFFFFFFF || sub == 0 || sub == 0xFFFFFFFF) return 1e-6;
        return (double)basic / sub;
    }

    /// <summary>Checks Nx*Ny against the number of data points and guards against overflow.</summary>
    internal static void CheckSize(Octets o, in GridCommon c, long nx, long ny, string nxName = "Nx", string nyName = "Ny")
    {
        if (nx <= 0 || ny <= 0) throw o.Error($"{nxName}={nx}, {nyName}={ny}: a grid needs at least one point each way");
        var total = nx * ny; // both < 2^32, fits in long
        if (total != c.NumberOfDataPoints)
            throw o.Error($"{nxName}*{nyName} = {nx}*{ny} = {total} disagrees with the number of data points {c.NumberOfDataPoints}");
        if (total > int.MaxValue) throw o.Error($"{nxName}*{nyName} = {total} points is larger than supported ({int.MaxValue})");
    }
}

/// <summary>What every grid template shares (section 3 header + the list of points per row).</summary>
internal readonly struct GridCommon
{
    public int TemplateNumber { get; init; }
    public long NumberOfDataPoints { get; init; }
    public EarthShape Earth { get; init; }
    public int[] PointsPerRow { get; init; }
}

/// <summary>Scanning mode flags (flag table 3.4).</summary>
public readonly record struct ScanningMode(int Value)
{
    /// <summary>Bit 1: points of the first row scan in the -i (westward) direction.</summary>
    public bool IScansNegatively => (Value & 0x80) != 0;

    /// <summary>Bit 2: points of the first column scan in the +j (northward) direction.</summary>
    public bool JScansPositively => (Value & 0x40) != 0;

    /// <summary>Bit 3: adjacent points in the j direction are consecutive (column-major).</summary>
    public bool JPointsAreConsecutive => (Value & 0x20) != 0;

    /// <summary>Bit 4: adjacent rows scan in opposite directions (boustrophedon).</summary>
    public bool AlternativeRowScanning => (Value & 0x10) != 0;

    /// <summary>
    /// Reorders values from the message's scanning order into the order of <see cref="GridDefinition.GetLatLons(Span{double},Span{double})"/>
    /// for projected grids (Lambert, polar stereographic, Mercator, space view), as ecCodes' geoiterator does
    /// (+i fastest, +j rows). Values must hold nx*ny points.
    /// </summary>
    public void ToIteratorOrder(Span<double> values, long nx, long ny)
    {
        if (!IScansNegatively && JScansPositively && !JPointsAreConsecutive && !AlternativeRowScanning) return;
        var n = checked((int)(nx * ny));
        if (values.Length < n) throw new ArgumentException($"values hold {values.Length} points, the grid {n}");
        var copy = values[..n].ToArray();
        int ni = (int)nx, nj = (int)ny;
        for (var row = 0; row < nj; row++)
        {
            // Destination row (south to north), source row in the message's order.
            var srcRow = JScansPositively ? row : nj - 1 - row;
            var reverse = IScansNegatively ^ (AlternativeRowScanning && (srcRow & 1) == 1);
            for (var i = 0; i < ni; i++)
            {
                var srcI = reverse ? ni - 1 - i : i;
                var src = JPointsAreConsecutive ? srcI * nj + srcRow : srcRow * ni + srcI;
                values[row * ni + i] = copy[src];
            }
        }
    }
}

/// <summary>The earth model of code table 3.2, as ecCodes resolves it.</summary>
public sealed record EarthShape(int ShapeOfTheEarth, double MajorAxisInMetres, double MinorAxisInMetres)
{
    public static readonly EarthShape Unknown = new(255, 6367470, 6367470);

    /// <summary>True for an oblate spheroid (shapes 2, 3, 4, 5, 7, 9).</summary>
    public bool IsOblate => MajorAxisInMetres != MinorAxisInMetres;

    /// <summary>Radius of a spherical earth in metres (the major axis when oblate).</summary>
    public double RadiusInMetres => MajorAxisInMetres;

    internal static EarthShape Read(Octets o, int octet)
    {
        if (octet < 0) return new EarthShape(o.U1(15), 6371229, 6371229);
        var shape = o.U1(octet);
        static double Scaled(Octets o, int f, int v)
        {
            if (o.Missing1(f) || o.Missing4(v))
                throw o.Error($"shape of the earth needs octets {f}-{v + 3}, which are missing");
            return o.U4(v) / Math.Pow(10, o.U1(f));
        }
        switch (shape)
        {
            case 0: return new(0, 6367470, 6367470);
            case 1:
                var r = Scaled(o, octet + 1, octet + 2);
                return new(1, r, r);
            case 2: return new(2, 6378160.0, 6356775.0);
            case 3: return new(3, Scaled(o, octet + 6, octet + 7) * 1000.0, Scaled(o, octet + 11, octet + 12) * 1000.0);
            case 4:
            case 5: return new(shape, 6378137.0, 6356752.314);
            case 6: return new(6, 6371229, 6371229);
            case 7: return new(7, Scaled(o, octet + 6, octet + 7), Scaled(o, octet + 11, octet + 12));
            case 8: return new(8, 6371200, 6371200);
            case 9: return new(9, 6377563.396, 6356256.909);
            default: return new(shape, 6367470, 6367470);
        }
    }
}

/// <summary>A latitude/longitude bounding box in degrees (longitudes as the grid gives them).</summary>
public sealed record BoundingBox(double South, double West, double North, double East)
{
    /// <summary>The smallest box around the points; longitudes normalised to [-180, 180) and a dateline-crossing box keeps West &gt; East.</summary>
    public static BoundingBox? FromPoints(ReadOnlySpan<double> lat, ReadOnlySpan<double> lon)
    {
        double s = double.PositiveInfinity, n = double.NegativeInfinity;
        double w = double.PositiveInfinity, e = double.NegativeInfinity;   // in [-180,180)
        double w2 = double.PositiveInfinity, e2 = double.NegativeInfinity; // in [0,360)
        var any = false;
        for (var k = 0; k < lat.Length; k++)
        {
            var la = lat[k];
            var lo = lon[k];
            if (double.IsNaN(la) || double.IsNaN(lo)) continue;
            any = true;
            if (la < s) s = la;
            if (la > n) n = la;
            var a = NormalizeLon180(lo);
            if (a < w) w = a;
            if (a > e) e = a;
            var b = a < 0 ? a + 360 : a;
            if (b < w2) w2 = b;
            if (b > e2) e2 = b;
        }
        if (!any) return null;
        // Pick the narrower of the two longitude ranges (a box over the dateline is narrower in [0,360)).
        if (e2 - w2 < e - w - 1e-9)
            return new BoundingBox(s, NormalizeLon180(w2), n, NormalizeLon180(e2));
        return new BoundingBox(s, w, n, e);
    }

    public static double NormalizeLon180(double lon)
    {
        var x = lon % 360.0;
        if (x >= 180) x -= 360;
        if (x < -180) x += 360;
        return x;
    }
}
