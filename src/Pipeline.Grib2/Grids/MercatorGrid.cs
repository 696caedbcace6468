namespace Pipeline.Grib2.Grids;

/// <summary>Template 3.10: Mercator (sphere or ellipsoid).</summary>
public sealed class MercatorGrid : GridDefinition
{
    private MercatorGrid(in GridCommon c) : base(c) { }

    public override string GridType => "mercator";

    private long _nx, _ny;
    private ScanningMode _scan;

    public override long Nx => _nx;
    public override long Ny => _ny;
    public override ScanningMode Scanning => _scan;

    public double LatitudeOfFirstGridPoint { get; private init; }
    public double LongitudeOfFirstGridPoint { get; private init; }
    public double LatitudeOfLastGridPoint { get; private init; }
    public double LongitudeOfLastGridPoint { get; private init; }
    /// <summary>Latitude where the projection cuts the earth (Di and Dj are true there).</summary>
    public double LaD { get; private init; }
    public double OrientationOfTheGrid { get; private init; }
    public double DiInMetres { get; private init; }
    public double DjInMetres { get; private init; }

    internal static MercatorGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 72) throw o.Error($"section 3 is {o.Length} octets; the template needs 72");
        var g = new MercatorGrid(c)
        {
            _nx = o.U4(31),
            _ny = o.U4(35),
            LatitudeOfFirstGridPoint = o.S4(39) * 1e-6,
            LongitudeOfFirstGridPoint = o.S4(43) * 1e-6,
            LaD = o.S4(48) * 1e-6,
            LatitudeOfLastGridPoint = o.S4(52) * 1e-6,
            LongitudeOfLastGridPoint = o.S4(56) * 1e-6,
            _scan = new ScanningMode(o.U1(60)),
            OrientationOfTheGrid = o.S4(61) * 1e-6,
            DiInMetres = o.U4(65) / 1000.0,
            DjInMetres = o.U4(69) / 1000.0,
        };
        CheckSize(o, c, g._nx, g._ny, "Ni", "Nj");
        return g;
    }

    public override void GetLatLons(Span<double> lats, Span<double> lons)
    {
        CheckSpans(lats, lons);
        const double d2r = ProjMath.Deg2Rad;
        var a = Earth.MajorAxisInMetres;
        var e = ProjMath.Eccentricity(Earth);
        var k = a * ProjMath.Msfn(LaD * d2r, e); // x = k * lambda, y = -k * ln t
        var lon0 = LongitudeOfFirstGridPoint * d2r;
        var y0 = -k * Math.Log(ProjMath.Tsfn(LatitudeOfFirstGridPoint * d2r, e));
        var dx = _scan.IScansNegatively ? -DiInMetres : DiInMetres;
        var dy = _scan.JScansPositively ? DjInMetres : -DjInMetres;
        int nx = (int)_nx, ny = (int)_ny;
        for (var j = 0; j < ny; j++)
        {
            var y = y0 + j * dy;
            var phi = ProjMath.Phi2(Math.Exp(-y / k), e) * ProjMath.Rad2Deg;
            for (var i = 0; i < nx; i++)
            {
                var index = i + j * nx;
                lats[index] = phi;
                lons[index] = ProjMath.Lon360((lon0 + i * dx / k) * ProjMath.Rad2Deg);
            }
        }
    }
}
