namespace Pipeline.Grib2.Grids;

/// <summary>Template 3.20: polar stereographic (north or south pole on the projection plane; sphere or ellipsoid).</summary>
public sealed class PolarStereographicGrid : GridDefinition
{
    private PolarStereographicGrid(in GridCommon c) : base(c) { }

    public override string GridType => "polar_stereographic";

    private long _nx, _ny;
    private ScanningMode _scan;

    public override long Nx => _nx;
    public override long Ny => _ny;
    public override ScanningMode Scanning => _scan;

    public double LatitudeOfFirstGridPoint { get; private init; }
    public double LongitudeOfFirstGridPoint { get; private init; }
    /// <summary>Latitude where Dx and Dy are true.</summary>
    public double LaD { get; private init; }
    public double LoV { get; private init; }
    public double DxInMetres { get; private init; }
    public double DyInMetres { get; private init; }
    public int ProjectionCentreFlag { get; private init; }

    /// <summary>Bit 1 of the projection centre flag: the south pole is on the projection plane.</summary>
    public bool SouthPoleOnProjectionPlane => (ProjectionCentreFlag & 0x80) != 0;

    internal static PolarStereographicGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 65) throw o.Error($"section 3 is {o.Length} octets; the template needs 65");
        var g = new PolarStereographicGrid(c)
        {
            _nx = o.U4(31),
            _ny = o.U4(35),
            LatitudeOfFirstGridPoint = o.S4(39) * 1e-6,
            LongitudeOfFirstGridPoint = o.U4(43) * 1e-6,
            LaD = o.S4(48) * 1e-6,
            LoV = o.U4(52) * 1e-6,
            DxInMetres = o.U4(56) / 1000.0,
            DyInMetres = o.U4(60) / 1000.0,
            ProjectionCentreFlag = o.U1(64),
            _scan = new ScanningMode(o.U1(65)),
        };
        CheckSize(o, c, g._nx, g._ny);
        return g;
    }

    public override void GetLatLons(Span<double> lats, Span<double> lons)
    {
        CheckSpans(lats, lons);
        const double d2r = ProjMath.Deg2Rad;
        var a = Earth.MajorAxisInMetres;
        var e = ProjMath.Eccentricity(Earth);
        // Work in the north-polar aspect; the south aspect mirrors latitudes and y.
        var s = SouthPoleOnProjectionPlane ? -1.0 : 1.0;
        var lad = s * LaD * d2r;
        var lov = LoV * d2r;
        double scale; // rho = scale * t
        if (Math.Abs(lad - Math.PI / 2) > 1e-10)
            scale = a * ProjMath.Msfn(lad, e) / ProjMath.Tsfn(lad, e);
        else
            scale = 2.0 * a / Math.Sqrt(Math.Pow(1 + e, 1 + e) * Math.Pow(1 - e, 1 - e));
        var lat1 = s * LatitudeOfFirstGridPoint * d2r;
        var lam1 = s * ProjMath.AdjustLon(LongitudeOfFirstGridPoint * d2r - lov);
        var rho1 = scale * ProjMath.Tsfn(lat1, e);
        var x0 = rho1 * Math.Sin(lam1);
        var y0 = -rho1 * Math.Cos(lam1);
        var dx = _scan.IScansNegatively ? -DxInMetres : DxInMetres;
        var dy = _scan.JScansPositively ? DyInMetres : -DyInMetres;
        int nx = (int)_nx, ny = (int)_ny;
        for (var j = 0; j < ny; j++)
        {
            var y = y0 + s * j * dy;
            for (var i = 0; i < nx; i++)
            {
                var x = x0 + s * i * dx;
                var rho = Math.Sqrt(x * x + y * y);
                var phi = ProjMath.Phi2(rho / scale, e);
                var lam = rho == 0 ? 0 : Math.Atan2(x, -y);
                var index = i + j * nx;
                lats[index] = s * phi * ProjMath.Rad2Deg;
                lons[index] = ProjMath.Lon360((s * lam + lov) * ProjMath.Rad2Deg);
            }
        }
    }
}
