namespace Pipeline.Grib2.Grids;

/// <summary>Conformal-latitude helpers (Snyder / PROJ) shared by the projected grids.</summary>
internal static class ProjMath
{
    public const double Deg2Rad = Math.PI / 180.0;
    public const double Rad2Deg = 180.0 / Math.PI;

    public static double Eccentricity(EarthShape e) =>
        e.IsOblate ? Math.Sqrt(1.0 - e.MinorAxisInMetres * e.MinorAxisInMetres / (e.MajorAxisInMetres * e.MajorAxisInMetres)) : 0.0;

    /// <summary>Snyder's m = cos(phi) / sqrt(1 - e^2 sin^2 phi).</summary>
    public static double Msfn(double phi, double e)
    {
        var s = Math.Sin(phi);
        return Math.Cos(phi) / Math.Sqrt(1.0 - e * e * s * s);
    }

    /// <summary>Snyder's t = tan(pi/4 - phi/2) / ((1 - e sin phi) / (1 + e sin phi))^(e/2).</summary>
    public static double Tsfn(double phi, double e)
    {
        var s = e * Math.Sin(phi);
        return Math.Tan(0.5 * (Math.PI / 2 - phi)) / Math.Pow((1.0 - s) / (1.0 + s), 0.5 * e);
    }

    /// <summary>Inverse of <see cref="Tsfn"/>: latitude (radians) from t, by iteration.</summary>
    public static double Phi2(double ts, double e)
    {
        var phi = Math.PI / 2 - 2.0 * Math.Atan(ts);
        if (e == 0) return phi;
        for (var i = 0; i < 30; i++)
        {
            var con = e * Math.Sin(phi);
            var next = Math.PI / 2 - 2.0 * Math.Atan(ts * Math.Pow((1.0 - con) / (1.0 + con), 0.5 * e));
            var d = next - phi;
            phi = next;
            if (Math.Abs(d) < 1e-14) break;
        }
        return phi;
    }

    /// <summary>Radians into (-pi, pi].</summary>
    public static double AdjustLon(double x)
    {
        while (x > Math.PI) x -= 2 * Math.PI;
        while (x < -Math.PI) x += 2 * Math.PI;
        return x;
    }

    /// <summary>Degrees into [0, 360).</summary>
    public static double Lon360(double lon)
    {
        while (lon >= 360.0) lon -= 360.0;
        while (lon < 0.0) lon += 360.0;
        return lon;
    }
}
