using System.Globalization;
using System.Security.Cryptography;
using Pipeline.Grib2.Writing;

namespace Pipeline.Host.Demo;

/// <summary>What <see cref="DemoModelRun.Generate"/> makes: the run's time, grid, steps and levels.</summary>
public sealed record DemoModelRunOptions
{
    /// <summary>The run's reference time (UTC, whole hour). Default 2026-01-15 00 UTC.</summary>
    public DateTime RunTime { get; init; } = new(2026, 1, 15, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Seeds the weather (where the lows start, the phases of the waves). Same seed, same bytes.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Resolution in degrees of the global grid (1.0 gives 360 x 181 points); ignored when <see cref="Grid"/> is set.</summary>
    public double Resolution { get; init; } = 1.0;

    /// <summary>A grid of your own (regional, say) instead of the global grid of <see cref="Resolution"/>.</summary>
    public RegularLatLonGrid? Grid { get; init; }

    /// <summary>Last forecast hour (default 48).</summary>
    public int LastStep { get; init; } = 48;

    /// <summary>Hours between files (default 6: f000, f006 ... f048, 9 files).</summary>
    public int StepInterval { get; init; } = 6;

    /// <summary>Isobaric levels (hPa) of <c>t</c> and <c>gh</c> (default 850, 500, 250).</summary>
    public IReadOnlyList<int> PressureLevels { get; init; } = [850, 500, 250];

    /// <summary>The model name in file names (<c>demo.t00z.pgrb2.1p00.f006</c>).</summary>
    public string Model { get; init; } = "demo";

    /// <summary>Originating centre written in section 1 (default 7, so ecCodes uses its NCEP names and tables).</summary>
    public int Centre { get; init; } = 7;
}

/// <summary>One generated file.</summary>
/// <param name="RelPath">Path under the run directory, with '/' separators and no leading slash:
/// <c>20260115/00/demo.t00z.pgrb2.1p00.f006</c>.</param>
/// <param name="FullPath">Where it is on disk.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Sha512">SHA-512 of the file, base64 (as Sarracenia's <c>identity</c> value).</param>
/// <param name="ForecastHour">The step.</param>
/// <param name="FieldCount">GRIB2 messages (one field each) in the file.</param>
/// <param name="ValueCount">Grid points times fields.</param>
public sealed record DemoFile(string RelPath, string FullPath, long Size, string Sha512, int ForecastHour, int FieldCount, long ValueCount);

/// <summary>A generated run: its files in step order.</summary>
public sealed record DemoRun(DateTime RunTime, string Directory, RegularLatLonGrid Grid, IReadOnlyList<string> Variables, IReadOnlyList<DemoFile> Files)
{
    public long TotalBytes => Files.Sum(f => f.Size);
    public long TotalValues => Files.Sum(f => f.ValueCount);
}

/// <summary>
/// Generates a small, deterministic, physically plausible model run as GRIB2 files, one file per step holding
/// every variable (as NCEP's pgrb files do): <c>2t</c>, <c>10u</c>, <c>10v</c>, <c>prmsl</c>, <c>tp</c> (accumulated
/// from step 0, template 4.8), and <c>t</c>, <c>gh</c> on the isobaric levels. Temperature falls with latitude and
/// height and follows the sun; two lows travel east and deepen; surface winds blow around them (geostrophic,
/// turned towards low pressure and slowed by friction; trade winds near the equator); it rains near the lows and
/// along the ITCZ. Values are packed with NCEP-like decimal precision (0.1 K, 0.1 m/s, 10 Pa, 0.1 mm, 1 gpm).
/// </summary>
public static class DemoModelRun
{
    /// <summary>The ecCodes shortNames in every file, in file order (isobaric ones once per level).</summary>
    public static readonly IReadOnlyList<string> VariableNames = ["2t", "10u", "10v", "prmsl", "tp", "t", "gh"];

    /// <summary>
    /// Writes the run under <paramref name="directory"/> (<c>{yyyyMMdd}/{HH}/{model}.t{HH}z.pgrb2.{res}.f{FFF}</c>)
    /// and returns its files with size and SHA-512. Existing files of the same names are overwritten.
    /// </summary>
    public static DemoRun Generate(string directory, DemoModelRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var o = options ?? new DemoModelRunOptions();
        if (o.RunTime.Kind == DateTimeKind.Local) throw new ArgumentException("the run time must be UTC", nameof(options));
        if (o.RunTime.Second != 0 || o.RunTime.Millisecond != 0)
            throw new ArgumentException($"the run time {o.RunTime:O} is not a whole minute", nameof(options));
        if (o.StepInterval <= 0) throw new ArgumentException($"step interval {o.StepInterval} h must be positive", nameof(options));
        if (o.LastStep is < 0 or > 999) throw new ArgumentException($"last step {o.LastStep} h must be between 0 and 999", nameof(options));
        if (o.PressureLevels.Any(p => p is <= 0 or > 1100)) throw new ArgumentException("pressure levels must be between 1 and 1100 hPa", nameof(options));
        if (string.IsNullOrWhiteSpace(o.Model) || o.Model.IndexOfAny(['/', '\\', '.']) >= 0)
            throw new ArgumentException($"model name '{o.Model}' must be a plain word", nameof(options));
        var grid = o.Grid ?? RegularLatLonGrid.Global(o.Resolution);
        var resolutionName = ResolutionName(o.Grid?.IIncrement ?? o.Resolution);
        var runTime = DateTime.SpecifyKind(o.RunTime, DateTimeKind.Utc);
        var hh = runTime.Hour.ToString("D2", CultureInfo.InvariantCulture);
        // A run that does not start on the hour (each `pipeline demo` makes a new one) keeps its minutes in the directory.
        var relDir = runTime.Minute == 0 ? $"{runTime:yyyyMMdd}/{hh}" : $"{runTime:yyyyMMdd}/{hh}{runTime.Minute:D2}";
        var root = Path.GetFullPath(directory);

        var weather = new Weather(o.Seed, grid, runTime.Hour);
        var n = grid.PointCount;
        var buffer = new double[n];
        var precipitation = new double[n];
        var files = new List<DemoFile>();
        var id = new GribIdentity(o.Centre, runTime) { ProductionStatus = 2, TypeOfData = 1 };
        var accumulatedTo = 0;
        for (var step = 0; step <= o.LastStep; step += o.StepInterval)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = $"{o.Model}.t{hh}z.pgrb2.{resolutionName}.f{step:D3}";
            var relPath = $"{relDir}/{name}";
            var path = Path.Combine(root, relDir, name);
            weather.AccumulatePrecipitation(precipitation, accumulatedTo, step);
            accumulatedTo = step;
            var fields = 0;
            using (var w = GribWriter.Create(path))
            {
                void Write(GribProduct product, SimplePackingSpec packing, double[] values)
                {
                    var p = product.Interval is null ? product with { ForecastHours = step } : product;
                    w.Write(new GribFieldSpec(id, grid, p, packing), values);
                    fields++;
                }

                weather.Compute(step);
                weather.SurfaceTemperature(buffer, step);
                Write(GribProduct.Temperature(GribLevel.HeightAboveGround(2)), SimplePackingSpec.Decimals(1), buffer);
                Write(GribProduct.UWind(GribLevel.HeightAboveGround(10)), SimplePackingSpec.Decimals(1), weather.U);
                Write(GribProduct.VWind(GribLevel.HeightAboveGround(10)), SimplePackingSpec.Decimals(1), weather.V);
                Write(GribProduct.PressureReducedToMsl(), SimplePackingSpec.Decimals(-1), weather.SeaLevelPressure);
                Write(GribProduct.TotalPrecipitation(0, step), SimplePackingSpec.Decimals(1), precipitation);
                foreach (var level in o.PressureLevels)
                {
                    weather.UpperTemperature(buffer, level);
                    Write(GribProduct.Temperature(GribLevel.IsobaricHectopascals(level)), SimplePackingSpec.Decimals(1), buffer);
                }
                foreach (var level in o.PressureLevels)
                {
                    weather.GeopotentialHeight(buffer, level);
                    Write(GribProduct.GeopotentialHeight(GribLevel.IsobaricHectopascals(level)), SimplePackingSpec.Decimals(0), buffer);
                }
            }
            var info = new FileInfo(path);
            files.Add(new DemoFile(relPath, path, info.Length, Sha512Of(path), step, fields, (long)fields * n));
        }
        return new DemoRun(runTime, root, grid, VariableNames, files);
    }

    /// <summary>SHA-512 of a file, base64, as Sarracenia announces it.</summary>
    public static string Sha512Of(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToBase64String(SHA512.HashData(s));
    }

    /// <summary>NCEP's resolution tag: 1.0 is <c>1p00</c>, 0.25 is <c>0p25</c>, 2.5 is <c>2p50</c>.</summary>
    internal static string ResolutionName(double degrees)
    {
        var hundredths = (int)Math.Round(degrees * 100);
        return string.Create(CultureInfo.InvariantCulture, $"{hundredths / 100}p{hundredths % 100:D2}");
    }

    /// <summary>
    /// The analytic atmosphere: sea level pressure and a base temperature are smooth functions of latitude,
    /// longitude and hour, computed once per step; the other fields derive from them.
    /// </summary>
    private sealed class Weather
    {
        private const double Deg = Math.PI / 180;
        private const double Omega = 7.292e-5;
        private const double EarthRadius = 6.371e6;
        private const double AirDensity = 1.2;

        private readonly RegularLatLonGrid _grid;
        private readonly int _runHour;
        private readonly double _phase1, _phase2, _phase3;
        private readonly Low[] _lows;
        private readonly double[] _lat, _lon;
        private readonly double[] _pressure, _temperature, _u, _v;
        private readonly bool _wrapsAround;

        private readonly record struct Low(double Lat, double Lon, double LatSpeed, double LonSpeed, double Depth, double Deepening, double Radius);

        public Weather(int seed, RegularLatLonGrid grid, int runHour)
        {
            _grid = grid;
            _runHour = runHour;
            var rng = new Random(seed);
            double U(double a, double b) => a + (b - a) * rng.NextDouble();
            _phase1 = U(0, 2 * Math.PI);
            _phase2 = U(0, 2 * Math.PI);
            _phase3 = U(0, 2 * Math.PI);
            // A North Atlantic low, a North Pacific low, a Southern Ocean low. Degrees, Pa, per hour.
            _lows =
            [
                new Low(U(42, 50), U(295, 310), U(0.02, 0.12), U(0.45, 0.7), U(1500, 2200), U(20, 40), U(6.5, 8.5)),
                new Low(U(38, 46), U(160, 185), U(0.0, 0.1), U(0.4, 0.6), U(1000, 1800), U(15, 30), U(6, 8)),
                new Low(U(-55, -45), U(20, 60), U(-0.08, 0.0), U(0.6, 0.9), U(1800, 2600), U(10, 25), U(7, 9.5)),
            ];
            _lat = new double[grid.Nj];
            _lon = new double[grid.Ni];
            for (var j = 0; j < grid.Nj; j++) _lat[j] = grid.Latitude(j);
            for (var i = 0; i < grid.Ni; i++) _lon[i] = grid.Longitude(i);
            _wrapsAround = Math.Abs(grid.Ni * grid.IIncrement - 360) < 1e-6;
            var n = grid.PointCount;
            _pressure = new double[n];
            _temperature = new double[n];
            _u = new double[n];
            _v = new double[n];
        }

        /// <summary>Squared distance in degrees between two points, on a locally flat earth (enough for smooth blobs).</summary>
        private static double Distance2(double lat1, double lon1, double lat2, double lon2)
        {
            var dlon = lon2 - lon1;
            dlon -= 360 * Math.Round(dlon / 360);
            dlon *= Math.Cos((lat1 + lat2) * 0.5 * Deg);
            var dlat = lat2 - lat1;
            return dlat * dlat + dlon * dlon;
        }

        private Low[] LowsAt(double hour) =>
            [.. _lows.Select(l => l with { Lat = l.Lat + l.LatSpeed * hour, Lon = l.Lon + l.LonSpeed * hour, Depth = l.Depth + l.Deepening * hour })];

        /// <summary>Computes the step's pressure, base temperature and wind; the field accessors below read them.</summary>
        public void Compute(int step)
        {
            var lows = LowsAt(step);
            var k = 0;
            for (var j = 0; j < _grid.Nj; j++)
            {
                var lat = _lat[j];
                var a = Math.Abs(lat);
                var s = Math.Sin(lat * Deg);
                var c = Math.Cos(lat * Deg);
                var subtropical = 1000 * Math.Exp(-Square((a - 33) / 11));
                var subpolar = 1200 * Math.Exp(-Square((a - 62) / 9));
                var polar = 500 * Math.Exp(-Square((lat - 75) / 10));
                var wave = 300 * Square(Math.Sin(2 * lat * Deg));
                // January: the northern hemisphere is the colder one.
                var zonalT = 301 - 42 * s * s - 9 * Math.Max(0, s) + 4 * Math.Max(0, -s);
                for (var i = 0; i < _grid.Ni; i++, k++)
                {
                    var lon = _lon[i];
                    var p = 101300 + subtropical * (1 + 0.35 * Math.Cos(2 * lon * Deg + _phase1)) - subpolar
                            + polar * (1 + Math.Cos(lon * Deg + _phase2)) + wave * Math.Sin(3 * lon * Deg + _phase3);
                    var t = zonalT + 4 * Math.Sin(2 * lon * Deg + _phase2) * c;
                    foreach (var l in lows)
                    {
                        p -= l.Depth * Math.Exp(-Distance2(lat, lon, l.Lat, l.Lon) / (2 * l.Radius * l.Radius));
                        // Warm air ahead (east) of each low, cold air behind it.
                        t += 4 * Math.Exp(-Distance2(lat, lon, l.Lat, l.Lon + 6) / 60) - 5 * Math.Exp(-Distance2(lat, lon, l.Lat - 3, l.Lon - 8) / 80);
                    }
                    _pressure[k] = p;
                    _temperature[k] = t;
                }
            }
            ComputeWind();
        }

        /// <summary>10 m wind (m/s): geostrophic from the pressure gradient, turned 20 degrees to low pressure, 70 % of it; trades near the equator.</summary>
        private void ComputeWind()
        {
            int ni = _grid.Ni, nj = _grid.Nj;
            for (var j = 0; j < nj; j++)
            {
                var lat = _lat[j];
                var cos = Math.Max(Math.Cos(lat * Deg), 0.05);
                var sin = Math.Sin(lat * Deg);
                var f = 2 * Omega * (sin >= 0 ? 1 : -1) * Math.Max(Math.Abs(sin), Math.Sin(12 * Deg));
                var weight = Smoothstep(8, 20, Math.Abs(lat));
                var alpha = (lat >= 0 ? 1 : -1) * 20 * Deg;
                var tradeU = -6 * Math.Cos(lat * Deg * 4);
                var tradeV = -2.5 * Math.Sin(lat * Deg * 8);
                int jn = Math.Max(j - 1, 0), js = Math.Min(j + 1, nj - 1);
                var dy = (_lat[jn] - _lat[js]) * Deg * EarthRadius;
                for (var i = 0; i < ni; i++)
                {
                    int iw = i - 1, ie = i + 1;
                    if (_wrapsAround)
                    {
                        iw = (iw + ni) % ni;
                        ie %= ni;
                    }
                    else
                    {
                        iw = Math.Max(iw, 0);
                        ie = Math.Min(ie, ni - 1);
                    }
                    var dlon = _lon[ie] - _lon[iw];
                    dlon -= 360 * Math.Floor(dlon / 360);
                    var dx = dlon * Deg * EarthRadius * cos;
                    var k = j * ni + i;
                    var dpdx = dx > 0 ? (_pressure[j * ni + ie] - _pressure[j * ni + iw]) / dx : 0;
                    var dpdy = dy != 0 ? (_pressure[jn * ni + i] - _pressure[js * ni + i]) / dy : 0;
                    var ug = -dpdy / (AirDensity * f);
                    var vg = dpdx / (AirDensity * f);
                    var us = 0.7 * (ug * Math.Cos(alpha) - vg * Math.Sin(alpha));
                    var vs = 0.7 * (ug * Math.Sin(alpha) + vg * Math.Cos(alpha));
                    var speed = Math.Sqrt(us * us + vs * vs);
                    if (speed > 40)
                    {
                        us *= 40 / speed;
                        vs *= 40 / speed;
                    }
                    _u[k] = weight * us + (1 - weight) * tradeU;
                    _v[k] = weight * vs + (1 - weight) * tradeV;
                }
            }
        }

        public double[] SeaLevelPressure => _pressure;
        public double[] U => _u;
        public double[] V => _v;

        /// <summary>2 m temperature (K): the base temperature plus the daily cycle (warmest at 15 local time).</summary>
        public void SurfaceTemperature(double[] dest, int step)
        {
            var k = 0;
            for (var j = 0; j < _grid.Nj; j++)
            {
                var c = Math.Cos(_lat[j] * Deg);
                for (var i = 0; i < _grid.Ni; i++, k++)
                {
                    var localHour = (_runHour + step + _lon[i] / 15) % 24;
                    dest[k] = _temperature[k] + 4 * Math.Cos(2 * Math.PI * (localHour - 15) / 24) * c;
                }
            }
        }

        /// <summary>Temperature (K) on an isobaric level: the standard lapse rate, floored softly near 205 K (the tropopause).</summary>
        public void UpperTemperature(double[] dest, int hPa)
        {
            var factor = Math.Pow(hPa / 1013.25, 0.190);
            for (var k = 0; k < dest.Length; k++)
                dest[k] = 205 + Softplus(_temperature[k] * factor - 205, 5);
        }

        /// <summary>Geopotential height (gpm) of an isobaric level from the sea level pressure and temperature (standard atmosphere).</summary>
        public void GeopotentialHeight(double[] dest, int hPa)
        {
            for (var k = 0; k < dest.Length; k++)
                dest[k] = _temperature[k] / 0.0065 * (1 - Math.Pow(hPa * 100 / _pressure[k], 0.190));
        }

        /// <summary>Adds the precipitation (mm = kg m-2) from hour <paramref name="from"/> to <paramref name="to"/> (midpoint rule, 3 h steps).</summary>
        public void AccumulatePrecipitation(double[] total, int from, int to)
        {
            const int stepHours = 3;
            for (var h = from; h < to; h += stepHours)
            {
                var hours = Math.Min(stepHours, to - h);
                var hour = h + hours / 2.0;
                var lows = LowsAt(hour);
                var k = 0;
                for (var j = 0; j < _grid.Nj; j++)
                {
                    var lat = _lat[j];
                    var itcz = 0.35 * Math.Exp(-Square((lat - 4) / 4));
                    for (var i = 0; i < _grid.Ni; i++, k++)
                    {
                        var lon = _lon[i];
                        var rate = itcz * (1 + 0.6 * Math.Sin(4 * lon * Deg + _phase1 + 0.1 * hour));
                        foreach (var l in lows)
                        {
                            // The rain shield north-east of the centre and a band along the cold front to the south.
                            rate += 2.0 * Math.Exp(-Distance2(lat, lon, l.Lat + 2, l.Lon + 5) / 30)
                                    + 0.8 * Math.Exp(-Distance2(lat, lon, l.Lat - 8, l.Lon + 3) / 15);
                        }
                        total[k] += Math.Max(0, rate) * hours;
                    }
                }
            }
        }

        private static double Square(double x) => x * x;

        private static double Smoothstep(double a, double b, double x)
        {
            var t = Math.Clamp((x - a) / (b - a), 0, 1);
            return t * t * (3 - 2 * t);
        }

        private static double Softplus(double x, double width) => x > 20 * width ? x : width * Math.Log(1 + Math.Exp(x / width));
    }
}
