namespace Pipeline.Grib2.Grids;

/// <summary>
/// NCEP local template 3.32769: rotated latitude/longitude, Arakawa non-E staggered (RAP, NAM).
/// The rotated pole puts the grid centre (La0, Lo0) at rotated (0, 0); points step by Di and Dj in rotated
/// coordinates from the first point. ecCodes 2.28 gives no coordinates for this template; ours are checked
/// against the last grid point the message itself codes.
/// </summary>
public sealed class NcepStaggeredGrid : GridDefinition
{
    private NcepStaggeredGrid(in GridCommon c) : base(c) { }

    public override string GridType => "ncep_32769";

    private long _ni, _nj;
    private ScanningMode _scan;

    public override long Nx => _ni;
    public override long Ny => _nj;
    public override ScanningMode Scanning => _scan;

    public double LatitudeOfFirstGridPoint { get; private init; }
    public double LongitudeOfFirstGridPoint { get; private init; }
    public double CentralLatitude { get; private init; }
    public double CentralLongitude { get; private init; }
    public double DiInDegrees { get; private init; }
    public double DjInDegrees { get; private init; }
    public double LatitudeOfLastGridPoint { get; private init; }
    public double LongitudeOfLastGridPoint { get; private init; }

    internal static NcepStaggeredGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 80) throw o.Error($"section 3 is {o.Length} octets; the template needs 80");
        var unit = AngleUnit(o, 39, 43);
        var g = new NcepStaggeredGrid(c)
        {
            _ni = o.U4(31),
            _nj = o.U4(35),
            LatitudeOfFirstGridPoint = o.S4(47) * unit,
            LongitudeOfFirstGridPoint = o.S4(51) * unit,
            CentralLatitude = o.S4(56) * unit,
            CentralLongitude = o.S4(60) * unit,
            DiInDegrees = o.U4(64) * unit,
            DjInDegrees = o.U4(68) * unit,
            _scan = new ScanningMode(o.U1(72)),
            LatitudeOfLastGridPoint = o.S4(73) * unit,
            LongitudeOfLastGridPoint = o.S4(77) * unit,
        };
        CheckSize(o, c, g._ni, g._nj, "Ni", "Nj");
        return g;
    }

    public override void GetLatLons(Span<double> lats, Span<double> lons)
    {
        CheckSpans(lats, lons);
        ToRotated(LatitudeOfFirstGridPoint, LongitudeOfFirstGridPoint, out var rlat1, out var rlon1);
        var di = _scan.IScansNegatively ? -DiInDegrees : DiInDegrees;
        var dj = _scan.JScansPositively ? DjInDegrees : -DjInDegrees;
        int ni = (int)_ni, nj = (int)_nj;
        var k = 0;
        for (var j = 0; j < nj; j++)
            for (var i = 0; i < ni; i++, k++)
            {
                FromRotated(rlat1 + j * dj, rlon1 + i * di, out lats[k], out lons[k]);
                lons[k] = ProjMath.Lon360(lons[k]);
            }
    }

    // Geographic -> rotated: rotate about z by -Lo0, then about y by -La0 (centre to (0,0)).
    private void ToRotated(double lat, double lon, out double rlat, out double rlon)
    {
        const double d = ProjMath.Deg2Rad;
        var la = lat * d;
        var lo = (lon - CentralLongitude) * d;
        var x = Math.Cos(la) * Math.Cos(lo);
        var y = Math.Cos(la) * Math.Sin(lo);
        var z = Math.Sin(la);
        var c0 = Math.Cos(CentralLatitude * d);
        var s0 = Math.Sin(CentralLatitude * d);
        var xr = c0 * x + s0 * z;
        var zr = -s0 * x + c0 * z;
        rlat = Math.Asin(Math.Clamp(zr, -1, 1)) * ProjMath.Rad2Deg;
        rlon = Math.Atan2(y, xr) * ProjMath.Rad2Deg;
    }

    private void FromRotated(double rlat, double rlon, out double lat, out double lon)
    {
        const double d = ProjMath.Deg2Rad;
        var la = rlat * d;
        var lo = rlon * d;
        var xr = Math.Cos(la) * Math.Cos(lo);
        var y = Math.Cos(la) * Math.Sin(lo);
        var zr = Math.Sin(la);
        var c0 = Math.Cos(CentralLatitude * d);
        var s0 = Math.Sin(CentralLatitude * d);
        var x = c0 * xr - s0 * zr;
        var z = s0 * xr + c0 * zr;
        lat = Math.Asin(Math.Clamp(z, -1, 1)) * ProjMath.Rad2Deg;
        lon = Math.Atan2(y, x) * ProjMath.Rad2Deg + CentralLongitude;
    }
}
