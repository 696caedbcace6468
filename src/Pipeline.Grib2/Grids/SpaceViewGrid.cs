namespace Pipeline.Grib2.Grids;

/// <summary>
/// Template 3.90: space view perspective (geostationary satellite). Points off the earth's disk get
/// latitude 0 and longitude 0, as ecCodes gives them.
/// </summary>
public sealed class SpaceViewGrid : GridDefinition
{
    private SpaceViewGrid(in GridCommon c) : base(c) { }

    public override string GridType => "space_view";

    private long _nx, _ny;
    private ScanningMode _scan;

    public override long Nx => _nx;
    public override long Ny => _ny;
    public override ScanningMode Scanning => _scan;

    public double LatitudeOfSubSatellitePoint { get; private init; }
    public double LongitudeOfSubSatellitePoint { get; private init; }
    /// <summary>Apparent diameter of the earth in grid lengths, x and y.</summary>
    public double Dx { get; private init; }
    public double Dy { get; private init; }
    /// <summary>Sub-satellite point in grid lengths.</summary>
    public double Xp { get; private init; }
    public double Yp { get; private init; }
    public double OrientationOfTheGrid { get; private init; }
    /// <summary>Altitude of the camera from the earth's centre in earth (equatorial) radii.</summary>
    public double Nr { get; private init; }
    public double Xo { get; private init; }
    public double Yo { get; private init; }

    internal static SpaceViewGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 80) throw o.Error($"section 3 is {o.Length} octets; the template needs 80");
        if (o.Missing4(69)) throw o.Error("Nr (altitude of the camera) is missing: orthographic views are not supported");
        var g = new SpaceViewGrid(c)
        {
            _nx = o.U4(31),
            _ny = o.U4(35),
            LatitudeOfSubSatellitePoint = o.S4(39) * 1e-6,
            LongitudeOfSubSatellitePoint = o.S4(43) * 1e-6,
            Dx = o.U4(48),
            Dy = o.U4(52),
            Xp = o.S4(56) / 1000.0,
            Yp = o.S4(60) / 1000.0,
            _scan = new ScanningMode(o.U1(64)),
            OrientationOfTheGrid = o.S4(65) * 1e-6,
            Nr = o.U4(69) / 1e6,
            Xo = o.U4(73),
            Yo = o.U4(77),
        };
        CheckSize(o, c, g._nx, g._ny);
        if (g.Nr <= 1) throw o.Error($"Nr={g.Nr} earth radii puts the camera inside the earth");
        if (g.Dx == 0 || g.Dy == 0) throw o.Error("the apparent diameter of the earth (dx, dy) is 0");
        return g;
    }

    public override void GetLatLons(Span<double> lats, Span<double> lons)
    {
        CheckSpans(lats, lons);
        if (LatitudeOfSubSatellitePoint != 0)
            throw new NotSupportedException("space view grid: a sub-satellite point off the equator is not supported (ecCodes neither)");
        if (OrientationOfTheGrid != 0)
            throw new NotSupportedException("space view grid: a rotated grid orientation is not supported (ecCodes neither)");
        double req, rpol;
        if (Earth.IsOblate)
        {
            req = Earth.MajorAxisInMetres / 1000.0;
            rpol = Earth.MinorAxisInMetres / 1000.0;
        }
        else
        {
            req = rpol = Earth.RadiusInMetres / 1000.0;
        }
        var angularSize = 2.0 * Math.Asin(1.0 / Nr);
        var height = Nr * req;
        var lop = LongitudeOfSubSatellitePoint;
        var rx = angularSize / Dx;
        var ry = rpol / req * angularSize / Dy;
        int nx = (int)_nx, ny = (int)_ny;
        var xp = _scan.IScansNegatively ? nx - 1 - (Xp - Xo) : Xp - Xo;
        // As ecCodes 2.28 places them (checked against it on a Meteosat disk scanned -i +j).
        var yp = _scan.JScansPositively ? ny - 1 - (Yp - Yo) : Yp - Yo;
        var factor2 = req / rpol * (req / rpol);
        var factor1 = height * height - req * req;
        var sx = new double[nx];
        var cx = new double[nx];
        for (var ix = 0; ix < nx; ix++)
        {
            var x = (ix - xp) * rx;
            sx[ix] = Math.Sin(x);
            cx[ix] = Math.Sqrt(1.0 - sx[ix] * sx[ix]);
        }
        var k = 0;
        for (var iy = 0; iy < ny; iy++)
        {
            var y = (iy - yp) * ry;
            var sy = Math.Sin(y);
            var cy = Math.Sqrt(1.0 - sy * sy);
            var tmp1 = cy * cy + factor2 * sy * sy;
            for (var ix = 0; ix < nx; ix++, k++)
            {
                var hcc = height * cx[ix] * cy;
                var sd = hcc * hcc - tmp1 * factor1;
                if (sd <= 0.0)
                {
                    lats[k] = 0;
                    lons[k] = 0;
                    continue;
                }
                sd = Math.Sqrt(sd);
                var sn = (hcc - sd) / tmp1;
                var s1 = height - sn * cx[ix] * cy;
                var s2 = sn * sx[ix] * cy;
                var s3 = -sn * sy; // ecCodes: +y (later rows) lies south
                var sxy = Math.Sqrt(s1 * s1 + s2 * s2);
                var lo = Math.Atan(s2 / s1) * ProjMath.Rad2Deg + lop;
                lats[k] = Math.Atan(factor2 * s3 / sxy) * ProjMath.Rad2Deg;
                while (lo < 0) lo += 360;
                while (lo > 360) lo -= 360;
                lons[k] = lo;
            }
        }
    }
}
