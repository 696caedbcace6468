using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Pipeline.Grib2.Grids;

/// <summary>
/// Templates 3.0 (regular and reduced latitude/longitude) and 3.1 (rotated latitude/longitude).
/// </summary>
public sealed class LatLonGrid : GridDefinition
{
    private LatLonGrid(in GridCommon c) : base(c) { }

    public override string GridType => IsReduced ? (IsRotated ? "reduced_rotated_ll" : "reduced_ll") : (IsRotated ? "rotated_ll" : "regular_ll");

    public bool IsRotated { get; private init; }

    /// <summary>Reduced grid: Ni missing, points per row listed.</summary>
    public bool IsReduced { get; private init; }

    public long Ni { get; private init; }

    public long Nj { get; private init; }

    public override long Nx => Ni;

    public override long Ny => Nj;

    public double LatitudeOfFirstGridPoint { get; private init; }
    public double LongitudeOfFirstGridPoint { get; private init; }
    public double LatitudeOfLastGridPoint { get; private init; }
    public double LongitudeOfLastGridPoint { get; private init; }

    /// <summary>i increment in degrees; NaN when not given.</summary>
    public double IDirectionIncrement { get; private init; }

    /// <summary>j increment in degrees; NaN when not given.</summary>
    public double JDirectionIncrement { get; private init; }

    public double LatitudeOfSouthernPole { get; private init; }
    public double LongitudeOfSouthernPole { get; private init; }
    public double AngleOfRotation { get; private init; }

    private ScanningMode _scan;

    public override ScanningMode Scanning => _scan;

    public override long PointCount => IsReduced ? PointsPerRow.Sum(x => (long)x) : Ni * Nj;

    internal static LatLonGrid Read(Octets o, in GridCommon c, bool rotated)
    {
        var need = rotated ? 84 : 72;
        if (o.Length < need) throw o.Error($"section 3 is {o.Length} octets; the template needs {need}");
        var unit = AngleUnit(o, 39, 43);
        var reduced = o.Missing4(31);
        var g = new LatLonGrid(c)
        {
            IsRotated = rotated,
            IsReduced = reduced,
            Ni = reduced ? -1 : o.U4(31),
            Nj = o.U4(35),
            LatitudeOfFirstGridPoint = o.S4(47) * unit,
            LongitudeOfFirstGridPoint = o.S4(51) * unit,
            LatitudeOfLastGridPoint = o.S4(56) * unit,
            LongitudeOfLastGridPoint = o.S4(60) * unit,
            IDirectionIncrement = o.Missing4(64) ? double.NaN : o.U4(64) * unit,
            JDirectionIncrement = o.Missing4(68) ? double.NaN : o.U4(68) * unit,
            _scan = new ScanningMode(o.U1(72)),
            LatitudeOfSouthernPole = rotated ? o.S4(73) * unit : 0,
            LongitudeOfSouthernPole = rotated ? o.U4(77) * unit : 0,
            AngleOfRotation = rotated ? o.F4(81) : 0,
        };
        if (reduced)
        {
            if (c.PointsPerRow.Length == 0) throw o.Error("Ni is missing but there is no list of points per row");
            if (c.PointsPerRow.Length != g.Nj) throw o.Error($"the list has {c.PointsPerRow.Length} rows, Nj is {g.Nj}");
            if (g.PointCount != c.NumberOfDataPoints)
                throw o.Error($"the rows hold {g.PointCount} points, the section says {c.NumberOfDataPoints}");
        }
        else
        {
            CheckSize(o, c, g.Ni, g.Nj, "Ni", "Nj");
        }
        return g;
    }

    public override void GetLatLons(Span<double> lat, Span<double> lon)
    {
        CheckSpans(lat, lon);
        if (IsReduced)
        {
            FillReduced(lat, lon);
            return;
        }
        var ni = (int)Ni;
        var nj = (int)Nj;
        Span<double> lats = nj <= 4096 ? stackalloc double[nj] : new double[nj];
        Span<double> lons = ni <= 4096 ? stackalloc double[ni] : new double[ni];
        RowsAndColumns(lats, lons);
        if (IsRotated)
            Rotation.UnrotateGrid(lat, lon, lats, lons, _scan.JPointsAreConsecutive, AngleOfRotation, LatitudeOfSouthernPole, LongitudeOfSouthernPole);
        else
            Fill(lat, lon, lats, lons, _scan);
    }

    /// <summary>
    /// Expands row latitudes and column longitudes into points in scanning order (ecCodes' latlon iterator). Rows that
    /// alternate direction (flag bit 4) are not reversed: ecCodes lists coordinates in plain row order and reorders the
    /// data instead (see <see cref="ScanningMode.ToIteratorOrder"/>).
    /// </summary>
    internal static void Fill(Span<double> lat, Span<double> lon, ReadOnlySpan<double> lats, ReadOnlySpan<double> lons, ScanningMode scan)
    {
        int ni = lons.Length, nj = lats.Length, k = 0;
        if (scan.JPointsAreConsecutive)
        {
            for (var i = 0; i < ni; i++)
                for (var j = 0; j < nj; j++, k++)
                {
                    lat[k] = lats[j];
                    lon[k] = lons[i];
                }
            return;
        }
        for (var j = 0; j < nj; j++)
            for (var i = 0; i < ni; i++, k++)
            {
                lat[k] = lats[j];
                lon[k] = lons[i];
            }
    }

    /// <summary>
    /// The row latitudes (Nj) and column longitudes (Ni) of a regular, unrotated grid, in scanning order, exactly as
    /// <see cref="GetLatLons(Span{double},Span{double})"/> combines them point by point (a 0.01-degree grid has 25 M
    /// points; a caller that needs only the axes should not make them).
    /// </summary>
    public void GetRowsAndColumns(Span<double> lats, Span<double> lons)
    {
        if (IsReduced || IsRotated)
            throw new NotSupportedException("a reduced or rotated grid has no separate rows and columns");
        if (lats.Length != (int)Nj || lons.Length != (int)Ni)
            throw new ArgumentException($"grid has {Nj} rows and {Ni} columns; the spans hold {lats.Length} and {lons.Length}");
        RowsAndColumns(lats, lons);
    }

    /// <summary>The unrotated rows and columns (before any rotation is applied point by point).</summary>
    private void RowsAndColumns(Span<double> lats, Span<double> lons)
    {
        RegularLatitudes(lats, LatitudeOfFirstGridPoint, LatitudeOfLastGridPoint, JDirectionIncrement, _scan.JScansPositively);
        RegularLongitudes(lons, LongitudeOfFirstGridPoint, LongitudeOfLastGridPoint, _scan.IScansNegatively);
    }

    /// <summary>Row latitudes from the first one stepping by Dj (or by the span when Dj is missing); the last is exact.</summary>
    internal static void RegularLatitudes(Span<double> lats, double lat1, double lat2, double dj, bool jPositive)
    {
        var nj = lats.Length;
        if (nj == 1)
        {
            lats[0] = lat1;
            return;
        }
        var jdir = double.IsNaN(dj) ? Math.Abs(lat2 - lat1) / (nj - 1) : dj;
        if (!jPositive) jdir = -jdir;
        for (var j = 0; j < nj; j++) lats[j] = lat1 + j * jdir;
        lats[nj - 1] = lat2;
    }

    /// <summary>Column longitudes as ecCodes' regular iterator makes them (from the first and last longitudes).</summary>
    internal static void RegularLongitudes(Span<double> lons, double lon1, double lon2, bool iNegative)
    {
        var ni = lons.Length;
        double idir = 0;
        if (ni > 1)
        {
            if (iNegative)
                idir = lon1 > lon2 ? (lon1 - lon2) / (ni - 1) : (lon1 + 360.0 - lon2) / (ni - 1);
            else
                idir = lon2 > lon1 ? (lon2 - lon1) / (ni - 1) : (lon2 + 360.0 - lon1) / (ni - 1);
        }
        if (iNegative)
        {
            idir = -idir;
        }
        else
        {
            if (lon1 + (ni - 2) * idir > 360) lon1 -= 360;
            else if (lon1 + (ni - 1) * idir - 360 > 1e-6) idir = 360.0 / ni;
        }
        var x = lon1;
        for (var i = 0; i < ni; i++)
        {
            lons[i] = x;
            x += idir;
        }
    }

    private void FillReduced(Span<double> lat, Span<double> lon)
    {
        var nj = (int)Nj;
        var lat1 = LatitudeOfFirstGridPoint;
        var lat2 = LatitudeOfLastGridPoint;
        var dlat = double.IsNaN(JDirectionIncrement) ? Math.Abs(lat1 - lat2) / (nj - 1) : JDirectionIncrement;
        if (lat1 > lat2) dlat = -dlat;
        var lon1 = LongitudeOfFirstGridPoint;
        var lon2 = LongitudeOfLastGridPoint;
        if (lon2 < lon1) lon2 += 360;
        var range = lon2 - lon1;
        var maxRow = PointsPerRow.Max();
        var global = Math.Abs(range + 360.0 / maxRow - 360.0) < 1e-3;
        var k = 0;
        var y = lat1;
        for (var j = 0; j < nj; j++)
        {
            var row = PointsPerRow[j];
            // ecCodes' latlon_reduced: a row that closes the circle is spread over 360 degrees.
            var dlon = row > 1 ? (global ? 360.0 / row : range / (row - 1)) : 0;
            var x = lon1;
            for (var i = 0; i < row; i++, k++)
            {
                lat[k] = y;
                lon[k] = x;
                x += dlon;
            }
            y += dlat;
        }
    }
}

/// <summary>The rotated-pole transform of 3.1 (3.32769 has its own, as ecCodes does).</summary>
internal static class Rotation
{
    private const double Deg2Rad = Math.PI / 180.0;
    private const double Rad2Deg = 180.0 / Math.PI;

    /// <summary>
    /// ecCodes' unrotate() over a whole regular rotated grid: back to geographic, rounded to 6 decimals through a float
    /// as ecCodes' roundf does. The sines and cosines of the Nj rows, the Ni columns and the pole are taken once, not
    /// once a point (a 3.3 M-point HRDPS grid: 20 M trigonometric calls fewer); the arithmetic per point is unchanged.
    /// </summary>
    public static void UnrotateGrid(Span<double> lat, Span<double> lon, ReadOnlySpan<double> lats, ReadOnlySpan<double> lons, bool jConsecutive,
        double angle, double spLat, double spLon)
    {
        int ni = lons.Length, nj = lats.Length;
        var sinLat = new double[nj];
        var cosLat = new double[nj];
        var sinLon = new double[ni];
        var cosLon = new double[ni];
        for (var j = 0; j < nj; j++)
        {
            var latr = lats[j] * Deg2Rad;
            sinLat[j] = Math.Sin(latr);
            cosLat[j] = Math.Cos(latr);
        }
        for (var i = 0; i < ni; i++)
        {
            var lonr = lons[i] * Deg2Rad;
            sinLon[i] = Math.Sin(lonr);
            cosLon[i] = Math.Cos(lonr);
        }
        var pole = new Pole(spLat, spLon);
        // A run is a row (longitudes vary along it) or, with j consecutive, a column (latitudes vary); the other
        // coordinate's sine and cosine are constant along the run.
        var (runs, length) = jConsecutive ? (ni, nj) : (nj, ni);
        var sinConstant = new double[length];
        var cosConstant = new double[length];
        for (var r = 0; r < runs; r++)
        {
            sinConstant.AsSpan().Fill(jConsecutive ? sinLon[r] : sinLat[r]);
            cosConstant.AsSpan().Fill(jConsecutive ? cosLon[r] : cosLat[r]);
            Span<double> outLat = lat.Slice(r * length, length), outLon = lon.Slice(r * length, length);
            if (jConsecutive) UnrotateRun(sinLat, cosLat, sinConstant, cosConstant, angle, pole, outLat, outLon);
            else UnrotateRun(sinConstant, cosConstant, sinLon, cosLon, angle, pole, outLat, outLon);
        }
    }

    /// <summary>
    /// One row (or column) of points, four at a time: the rotation is the same arithmetic in the same order as
    /// <see cref="Unrotate"/> (so x, y, z are the same doubles); the arcsine and arctangent are <see cref="VectorMath"/>'s,
    /// a few ulps from libm's, far inside the 6-decimal rounding that follows. Lanes at a pole or on an axis take the
    /// scalar path, and so do the last one to three points of a run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // vector code: R2R's x86-64-v2 build is refused on AVX2 machines, so no slow Tier0 first
    private static void UnrotateRun(ReadOnlySpan<double> sinLat, ReadOnlySpan<double> cosLat, ReadOnlySpan<double> sinLon, ReadOnlySpan<double> cosLon,
        double angle, in Pole pole, Span<double> lat, Span<double> lon)
    {
        var n = lat.Length;
        var blocks = n / 4;
        // Three passes, each loop body short enough for the processor to overlap consecutive iterations (in one body the
        // arctangent chains ran at their latency): degrees and the lanes the vector math cannot take; ecCodes' rounding;
        // in scalar, those lanes and the tail. No call per point: in a fresh process a small method runs its precompiled or Tier0 code for the
        // first 100 ms or more, which cost more than the arithmetic.
        Span<byte> redo = blocks <= 2048 ? stackalloc byte[blocks] : new byte[blocks];
        double sinT = pole.SinT, cosT = pole.CosT, sinO = pole.SinO, cosO = pole.CosO;
        var xx = Vector256.Create(cosT * cosO);
        var xy = Vector256.Create(sinO);
        var xz = Vector256.Create(sinT * cosO);
        var yx = Vector256.Create(-cosT * sinO);
        var yy = Vector256.Create(cosO);
        var yz = Vector256.Create(sinT * sinO);
        var zx = Vector256.Create(-sinT);
        var zz = Vector256.Create(cosT);
        var rad2Deg = Vector256.Create(Rad2Deg);
        var million = Vector256.Create(1000000.0);
        var vangle = Vector256.Create(angle);
        for (var b = 0; b < blocks; b++)
        {
            var i = b * 4;
            var cla = Vector256.Create(cosLat.Slice(i, 4));
            var xd = Vector256.Create(cosLon.Slice(i, 4)) * cla;
            var yd = Vector256.Create(sinLon.Slice(i, 4)) * cla;
            var zd = Vector256.Create(sinLat.Slice(i, 4));
            // The same products and sums in the same order as Unrotate: the same doubles.
            var x = xx * xd + xy * yd + xz * zd;
            var y = yx * xd + yy * yd - yz * zd;
            var z = zx * xd + zz * zd;
            redo[b] = (byte)(VectorMath.Special(y, x) | ~Vector256.LessThan(Vector256.Abs(z), Vector256<double>.One)).ExtractMostSignificantBits();
            (rad2Deg * VectorMath.Asin(z)).CopyTo(lat.Slice(i, 4));
            (rad2Deg * VectorMath.Atan2(y, x)).CopyTo(lon.Slice(i, 4));
        }
        for (var i = 0; i < blocks * 4; i += 4)
        {
            (RoundF(Vector256.Create(lat.Slice(i, 4)) * million) / million).CopyTo(lat.Slice(i, 4));
            (RoundF(Vector256.Create(lon.Slice(i, 4)) * million) / million - vangle).CopyTo(lon.Slice(i, 4));
        }
        for (var b = 0; b < blocks; b++)
        {
            if (redo[b] == 0) continue;
            for (var i = b * 4; i < b * 4 + 4; i++)
                if ((redo[b] & (1 << (i & 3))) != 0)
                    Unrotate(sinLat[i], cosLat[i], sinLon[i], cosLon[i], angle, pole, out lat[i], out lon[i]);
        }
        for (var i = blocks * 4; i < n; i++) Unrotate(sinLat[i], cosLat[i], sinLon[i], cosLon[i], angle, pole, out lat[i], out lon[i]);
    }

    /// <summary>
    /// <see cref="RoundF(double)"/> on four lanes: to float (nearest), then halves away from zero exactly (the
    /// fraction f - trunc(f) of a float is exact, and so is trunc(f) ± 1 below 2^24), then back to double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> RoundF(Vector256<double> v)
    {
        var f = Vector256.Narrow(v, v);
        var t = Vector256.Truncate(f);
        var up = Vector256.GreaterThanOrEqual(Vector256.Abs(f - t), Vector256.Create(0.5f));
        var r = t + (up & (Vector256<float>.One | (f & Vector256.Create(-0.0f))));
        return Vector256.WidenLower(r);
    }

    private readonly struct Pole(double spLat, double spLon)
    {
        public readonly double SinT = Math.Sin(Deg2Rad * -(90.0 + spLat));
        public readonly double CosT = Math.Cos(Deg2Rad * -(90.0 + spLat));
        public readonly double SinO = Math.Sin(Deg2Rad * -spLon);
        public readonly double CosO = Math.Cos(Deg2Rad * -spLon);
    }

    private static void Unrotate(double sinLatr, double cosLatr, double sinLonr, double cosLonr, double angle, in Pole pole, out double outLat, out double outLon)
    {
        var xd = cosLonr * cosLatr;
        var yd = sinLonr * cosLatr;
        var zd = sinLatr;
        double sinT = pole.SinT, cosT = pole.CosT, sinO = pole.SinO, cosO = pole.CosO;
        var x = cosT * cosO * xd + sinO * yd + sinT * cosO * zd;
        var y = -cosT * sinO * xd + cosO * yd - sinT * sinO * zd;
        var z = -sinT * xd + cosT * zd;
        z = Math.Clamp(z, -1.0, 1.0);
        var la = Math.Asin(z) * Rad2Deg;
        var lo = Math.Atan2(y, x) * Rad2Deg;
        la = RoundF(la * 1000000.0) / 1000000.0;
        lo = RoundF(lo * 1000000.0) / 1000000.0;
        lo -= angle;
        outLat = la;
        outLon = lo;
    }

    // C roundf: the argument becomes a float; halves round away from zero.
    private static double RoundF(double v) => MathF.Round((float)v, MidpointRounding.AwayFromZero);
}
