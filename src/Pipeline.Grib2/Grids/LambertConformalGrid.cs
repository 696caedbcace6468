using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Pipeline.Grib2.Grids;

/// <summary>Template 3.30: Lambert conformal conic (spherical or oblate earth).</summary>
public sealed class LambertConformalGrid : GridDefinition
{
    private LambertConformalGrid(in GridCommon c) : base(c) { }

    public override string GridType => "lambert";

    private long _nx, _ny;
    private ScanningMode _scan;

    public override long Nx => _nx;
    public override long Ny => _ny;
    public override ScanningMode Scanning => _scan;

    public double LatitudeOfFirstGridPoint { get; private init; }
    public double LongitudeOfFirstGridPoint { get; private init; }
    /// <summary>Latitude where Dx and Dy are specified.</summary>
    public double LaD { get; private init; }
    /// <summary>Orientation: the meridian parallel to the y axis.</summary>
    public double LoV { get; private init; }
    public double DxInMetres { get; private init; }
    public double DyInMetres { get; private init; }
    public int ProjectionCentreFlag { get; private init; }
    public double Latin1 { get; private init; }
    public double Latin2 { get; private init; }
    public double LatitudeOfSouthernPole { get; private init; }
    public double LongitudeOfSouthernPole { get; private init; }

    internal static LambertConformalGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 81) throw o.Error($"section 3 is {o.Length} octets; the template needs 81");
        var g = new LambertConformalGrid(c)
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
            Latin1 = o.S4(66) * 1e-6,
            Latin2 = o.S4(70) * 1e-6,
            LatitudeOfSouthernPole = o.S4(74) * 1e-6,
            LongitudeOfSouthernPole = o.U4(78) * 1e-6,
        };
        CheckSize(o, c, g._nx, g._ny);
        return g;
    }

    public override void GetLatLons(Span<double> lat, Span<double> lon)
    {
        CheckSpans(lat, lon);
        if (Earth.IsOblate) Oblate(lat, lon);
        else Spherical(lat, lon);
    }

    // ecCodes' spherical Lambert iterator: +i and +j from the first point whatever the scanning flags. Vector code:
    // R2R's x86-64-v2 build of it is refused on AVX2 machines, so it is compiled optimized at once, not Tier0 first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Spherical(Span<double> lats, Span<double> lons)
    {
        const double d2r = ProjMath.Deg2Rad;
        var radius = Earth.RadiusInMetres;
        var lat1 = LatitudeOfFirstGridPoint * d2r;
        var lon1 = LongitudeOfFirstGridPoint * d2r;
        var l1 = Latin1 * d2r;
        var l2 = Latin2 * d2r;
        var lad = LaD * d2r;
        var lov = LoV * d2r;
        var n = Math.Abs(l1 - l2) < 1e-9
            ? Math.Sin(l1)
            : Math.Log(Math.Cos(l1) / Math.Cos(l2)) / Math.Log(Math.Tan(Math.PI / 4 + l2 / 2.0) / Math.Tan(Math.PI / 4 + l1 / 2.0));
        var f = Math.Cos(l1) * Math.Pow(Math.Tan(Math.PI / 4 + l1 / 2.0), n) / n;
        var rho = radius * f * Math.Pow(Math.Tan(Math.PI / 4 + lat1 / 2.0), -n);
        var rho0 = radius * f * Math.Pow(Math.Tan(Math.PI / 4 + lad / 2.0), -n);
        if (n < 0) rho0 = -rho0;
        var lonDiff = lon1 - lov;
        if (lonDiff > Math.PI) lonDiff -= 2 * Math.PI;
        if (lonDiff < -Math.PI) lonDiff += 2 * Math.PI;
        var angle = n * lonDiff;
        var x0 = rho * Math.Sin(angle);
        var y0 = rho0 - rho * Math.Cos(angle);
        int nx = (int)_nx, ny = (int)_ny;
        var p = new SphericalInverse(n, radius * f, LoV);
        var lanes = Vector256.Create(0.0, 1.0, 2.0, 3.0);
        var blocks = nx / 4;
        Span<byte> redo = blocks <= 2048 ? stackalloc byte[blocks] : new byte[blocks];
        var vx0 = Vector256.Create(x0);
        var dx = Vector256.Create(DxInMetres);
        var inverseN = Vector256.Create(1.0 / n);
        var rad2Deg = Vector256.Create(ProjMath.Rad2Deg);
        var loV = Vector256.Create(LoV);
        var logAbsRadiusF = Vector256.Create(p.LogAbsRadiusF);
        for (var j = 0; j < ny; j++)
        {
            var y = y0 + j * DyInMetres;
            if (n < 0) y = -y;
            var tmp = rho0 - y;
            var tmp2 = tmp * tmp;
            var vtmp = Vector256.Create(tmp);
            var vtmp2 = Vector256.Create(tmp2);
            var latRow = lats.Slice(j * nx, nx);
            var lonRow = lons.Slice(j * nx, nx);
            // Four points at a time with VectorMath's arctangent and its Exp(Log) for the power, ~1e-15 from libm's
            // answers (far inside the 1e-6 degree agreement with ecCodes), in passes short enough for the processor to
            // overlap iterations: (1) the longitude's arctangent and the power's logarithm, (2) its exponential,
            // (3) the latitude's arctangent; then in scalar, as ecCodes does, the lanes the vector passes could not
            // take (a point on the axis, a base libm would call NaN) and the row's last one to three points. No call per
            // point: in a fresh process a small method runs its precompiled or Tier0 code for the first 100 ms or more.
            for (var b = 0; b < blocks; b++)
            {
                var i = b * 4;
                var x = vx0 + (Vector256.Create((double)i) + lanes) * dx;
                if (n < 0) x = -x;
                var r = Vector256.Sqrt(x * x + vtmp2);
                if (n <= 0) r = -r;
                // (RF / r)^(1/n) as exp((ln|RF| - ln(r sign RF)) / n), without a division.
                var rr = p.RadiusF < 0 ? -r : r;
                var power = (logAbsRadiusF - VectorMath.Log(rr)) * inverseN;
                var lonDeg = VectorMath.Atan2(x, vtmp) * inverseN * rad2Deg + loV;
                // Into [0, 360) as ProjMath.Lon360 does it (one step of 360 either way; further out: the scalar path).
                var outside = Vector256.LessThan(lonDeg, Vector256.Create(-360.0)) | Vector256.GreaterThanOrEqual(lonDeg, Vector256.Create(720.0));
                lonDeg -= Vector256.GreaterThanOrEqual(lonDeg, Vector256.Create(360.0)) & Vector256.Create(360.0);
                lonDeg += Vector256.LessThan(lonDeg, Vector256<double>.Zero) & Vector256.Create(360.0);
                redo[b] = (byte)(VectorMath.Special(x, vtmp) | VectorMath.PowSpecial(rr, power) | outside).ExtractMostSignificantBits();
                lonDeg.CopyTo(lonRow.Slice(i, 4));
                power.CopyTo(latRow.Slice(i, 4));
            }
            for (var b = 0; b < blocks; b++)
                VectorMath.Exp(Vector256.Create(latRow.Slice(b * 4, 4))).CopyTo(latRow.Slice(b * 4, 4));
            for (var b = 0; b < blocks; b++)
            {
                var t = Vector256.Create(latRow.Slice(b * 4, 4));
                ((Vector256.Create(2.0) * VectorMath.Atan(t) - Vector256.Create(Math.PI / 2)) * rad2Deg).CopyTo(latRow.Slice(b * 4, 4));
            }
            for (var b = 0; b < blocks; b++)
            {
                if (redo[b] == 0) continue;
                for (var l = 0; l < 4; l++)
                    if ((redo[b] & (1 << l)) != 0)
                        p.Point(x0 + (b * 4 + l) * DxInMetres, tmp, tmp2, out latRow[b * 4 + l], out lonRow[b * 4 + l]);
            }
            for (var i = blocks * 4; i < nx; i++) p.Point(x0 + i * DxInMetres, tmp, tmp2, out latRow[i], out lonRow[i]);
        }
    }

    /// <summary>One point of the spherical inverse, exactly ecCodes' arithmetic (libm calls).</summary>
    private readonly struct SphericalInverse(double n, double radiusF, double loV)
    {
        public readonly double RadiusF = radiusF;
        public readonly double LogAbsRadiusF = Math.Log(Math.Abs(radiusF));

        public void Point(double x, double tmp, double tmp2, out double lat, out double lon)
        {
            if (n < 0) x = -x;
            var a = Math.Atan2(x, tmp);
            var r = Math.Sqrt(x * x + tmp2);
            if (n <= 0) r = -r;
            var lonDeg = loV + a / n * ProjMath.Rad2Deg;
            lat = (2.0 * Math.Atan(Math.Pow(RadiusF / r, 1.0 / n)) - Math.PI / 2) * ProjMath.Rad2Deg;
            lon = ProjMath.Lon360(lonDeg);
        }
    }

    // Ellipsoidal Lambert (Snyder 15-1..15-11).
    private void Oblate(Span<double> lats, Span<double> lons)
    {
        const double d2r = ProjMath.Deg2Rad;
        var a = Earth.MajorAxisInMetres;
        var e = ProjMath.Eccentricity(Earth);
        var l1 = Latin1 * d2r;
        var l2 = Latin2 * d2r;
        var lov = LoV * d2r;
        var m1 = ProjMath.Msfn(l1, e);
        var t1 = ProjMath.Tsfn(l1, e);
        var n = Math.Abs(l1 - l2) > 1e-10
            ? Math.Log(m1 / ProjMath.Msfn(l2, e)) / Math.Log(t1 / ProjMath.Tsfn(l2, e))
            : Math.Sin(l1);
        var bigF = m1 / (n * Math.Pow(t1, n));
        var rho0 = a * bigF * Math.Pow(ProjMath.Tsfn(LaD * d2r, e), n);
        var lat1 = LatitudeOfFirstGridPoint * d2r;
        var rho1 = Math.Abs(Math.Abs(lat1) - Math.PI / 2) > 1e-10 ? a * bigF * Math.Pow(ProjMath.Tsfn(lat1, e), n) : 0.0;
        var theta1 = n * ProjMath.AdjustLon(LongitudeOfFirstGridPoint * d2r - lov);
        var x0 = rho1 * Math.Sin(theta1);
        var y0 = rho0 - rho1 * Math.Cos(theta1);
        int nx = (int)_nx, ny = (int)_ny;
        for (var j = 0; j < ny; j++)
        {
            var y = y0 + j * DyInMetres;
            for (var i = 0; i < nx; i++)
            {
                var x = x0 + i * DxInMetres;
                var yy = rho0 - y;
                var rho = Math.Sqrt(x * x + yy * yy);
                double sign = 1;
                if (n < 0)
                {
                    rho = -rho;
                    sign = -1;
                }
                var theta = rho != 0 ? Math.Atan2(sign * x, sign * yy) : 0.0;
                double phi;
                if (rho != 0 || n > 0)
                {
                    var t = Math.Pow(rho / (a * bigF), 1.0 / n);
                    phi = ProjMath.Phi2(t, e);
                }
                else
                {
                    phi = -Math.PI / 2;
                }
                var lam = ProjMath.AdjustLon(theta / n + lov);
                var index = i + j * nx;
                lats[index] = phi * ProjMath.Rad2Deg;
                lons[index] = ProjMath.Lon360(lam * ProjMath.Rad2Deg);
            }
        }
    }
}
