namespace Pipeline.Grib2.Grids;

/// <summary>Template 3.40: regular and reduced Gaussian grids.</summary>
public sealed class GaussianGrid : GridDefinition
{
    private GaussianGrid(in GridCommon c) : base(c) { }

    public override string GridType => IsReduced ? "reduced_gg" : "regular_gg";

    public bool IsReduced { get; private init; }

    public long Ni { get; private init; }

    public long Nj { get; private init; }

    /// <summary>Number of parallels between a pole and the equator.</summary>
    public int N { get; private init; }

    public override long Nx => Ni;

    public override long Ny => Nj;

    public double LatitudeOfFirstGridPoint { get; private init; }
    public double LongitudeOfFirstGridPoint { get; private init; }
    public double LatitudeOfLastGridPoint { get; private init; }
    public double LongitudeOfLastGridPoint { get; private init; }

    private ScanningMode _scan;

    public override ScanningMode Scanning => _scan;

    public override long PointCount => IsReduced ? PointsPerRow.Sum(x => (long)x) : Ni * Nj;

    internal static GaussianGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 72) throw o.Error($"section 3 is {o.Length} octets; the template needs 72");
        var unit = AngleUnit(o, 39, 43);
        var reduced = o.Missing4(31);
        var n = o.U4(68);
        if (n == 0 || n > 100_000) throw o.Error($"number of parallels between pole and equator N={n} is absurd");
        var g = new GaussianGrid(c)
        {
            IsReduced = reduced,
            Ni = reduced ? -1 : o.U4(31),
            Nj = o.U4(35),
            N = (int)n,
            LatitudeOfFirstGridPoint = o.S4(47) * unit,
            LongitudeOfFirstGridPoint = o.S4(51) * unit,
            LatitudeOfLastGridPoint = o.S4(56) * unit,
            LongitudeOfLastGridPoint = o.S4(60) * unit,
            _scan = new ScanningMode(o.U1(72)),
        };
        if (g.Nj > 2 * n) throw o.Error($"Nj={g.Nj} exceeds the 2N={2 * n} Gaussian latitudes");
        if (reduced)
        {
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
        var gauss = GaussianLatitudes.Compute(N);
        var nj = (int)Nj;
        var rows = new double[nj];
        var start = FirstRow(gauss, LatitudeOfFirstGridPoint);
        for (var j = 0; j < nj; j++)
        {
            var idx = _scan.JScansPositively ? start - j : start + j;
            if ((uint)idx >= (uint)gauss.Length)
                throw new InvalidOperationException($"Gaussian grid N={N}: row {j} falls outside the {gauss.Length} latitudes");
            rows[j] = gauss[idx];
        }
        if (!IsReduced)
        {
            var lons = new double[Ni];
            LatLonGrid.RegularLongitudes(lons, LongitudeOfFirstGridPoint, LongitudeOfLastGridPoint, _scan.IScansNegatively);
            LatLonGrid.Fill(lat, lon, rows, lons, _scan);
            return;
        }
        var lon1 = LongitudeOfFirstGridPoint;
        var lon2 = LongitudeOfLastGridPoint;
        var maxRow = PointsPerRow.Max();
        var global = IsGlobal(lon1, lon2, maxRow);
        var k = 0;
        for (var j = 0; j < nj; j++)
        {
            var row = PointsPerRow[j];
            if (global)
            {
                var d = 360.0 / row;
                for (var i = 0; i < row; i++, k++)
                {
                    lat[k] = rows[j];
                    lon[k] = lon1 + i * d;
                }
            }
            else
            {
                // Sub-area: the points of the global row that fall between lon1 and lon2.
                var d = 360.0 / row;
                var first = (long)Math.Ceiling(lon1 / d - 1e-9);
                for (var i = 0; i < row; i++, k++)
                {
                    lat[k] = rows[j];
                    lon[k] = (first + i) * d;
                }
            }
        }
    }

    private static bool IsGlobal(double lon1, double lon2, int maxRow)
    {
        var span = lon2 - lon1;
        if (span < 0) span += 360;
        return span + 360.0 / maxRow >= 360.0 - 1e-6;
    }

    /// <summary>The index of the Gaussian latitude that is the first row (ecCodes accepts a tolerance).</summary>
    private static int FirstRow(double[] gauss, double lat1)
    {
        var best = 0;
        var bestDiff = double.MaxValue;
        for (var i = 0; i < gauss.Length; i++)
        {
            var d = Math.Abs(gauss[i] - lat1);
            if (d < bestDiff)
            {
                bestDiff = d;
                best = i;
            }
        }
        return best;
    }
}

/// <summary>Gaussian latitudes: the zeros of the Legendre polynomial of degree 2N, north to south, in degrees.</summary>
public static class GaussianLatitudes
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, double[]> Cache = new();

    /// <summary>The 2N latitudes (cached; do not modify the array).</summary>
    public static double[] Compute(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return Cache.GetOrAdd(n, static n =>
        {
            var nlat = 2 * n;
            var lats = new double[nlat];
            for (var j = 0; j < n; j++)
            {
                // First guess (Tricomi), then Newton on P_nlat.
                var root = Math.Cos(Math.PI * (j + 0.75) / (nlat + 0.5));
                for (var iter = 0; iter < 100; iter++)
                {
                    double p0 = 1.0, p1 = root;
                    for (var l = 2; l <= nlat; l++)
                    {
                        var p2 = ((2.0 * l - 1.0) * root * p1 - (l - 1.0) * p0) / l;
                        p0 = p1;
                        p1 = p2;
                    }
                    // P'_n(x) = n (x P_n - P_{n-1}) / (x^2 - 1)
                    var dp = nlat * (root * p1 - p0) / (root * root - 1.0);
                    var delta = p1 / dp;
                    root -= delta;
                    if (Math.Abs(delta) < 1e-15) break;
                }
                lats[j] = Math.Asin(root) * (180.0 / Math.PI);
                lats[nlat - 1 - j] = -lats[j];
            }
            return lats;
        });
    }
}
