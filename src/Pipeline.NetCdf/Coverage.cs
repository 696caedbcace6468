using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.NetCdf;

/// <summary>Where and when a NetCDF file's data lies, for notifications: a lon/lat box and the time range.</summary>
public sealed record NetCdfCoverage((double West, double South, double East, double North)? Bounds, DateTimeOffset? From, DateTimeOffset? To)
{
    private const long MaxCoordinateElements = 50_000_000;

    /// <summary>
    /// The box of the CF latitude/longitude variables (<c>standard_name</c>, or <c>units</c> degrees_north/east;
    /// ROMS <c>lat_rho</c>/<c>lon_rho</c>, FVCOM <c>lat</c>/<c>lon</c>), fill values left out, and the range of the
    /// time coordinate along the unlimited dimension (CF <c>UNIT since DATE</c>). Either is null when the file does
    /// not say or cannot be read; never throws for bad content.
    /// </summary>
    public static NetCdfCoverage Of(NetCdfFile file)
    {
        (double, double, double, double)? bounds = null;
        var lat = Pick(file, "latitude", "degrees_north", "degree_north", "degree_N", "degrees_N");
        var lon = Pick(file, "longitude", "degrees_east", "degree_east", "degree_E", "degrees_E");
        if (lat is not null && lon is not null && Range(file, lat) is { } la && Range(file, lon) is { } lo)
            bounds = (Math.Max(-180, lo.Min > 180 ? lo.Min - 360 : lo.Min), Math.Max(-90, la.Min), Math.Min(180, lo.Max > 180 ? lo.Max - 360 : lo.Max), Math.Min(90, la.Max));
        if (bounds is { } b && (b.Item1 > b.Item3 || b.Item2 > b.Item4)) bounds = null;

        DateTimeOffset? from = null, to = null;
        var unlimited = file.Dimensions.FirstOrDefault(d => d.IsUnlimited)?.Name;
        var time = file.Variables.FirstOrDefault(v => v.IsCoordinate && v.Name == unlimited)
                   ?? file.Variables.FirstOrDefault(v => v.IsCoordinate && v.Attribute("standard_name")?.Value is string s && s == "time")
                   ?? file.Variables.FirstOrDefault(v => v.IsCoordinate && v.Name is "time" or "ocean_time");
        if (time?.Attribute("units")?.Value is string units && Since(units) is { } since && Range(file, time) is { } t)
        {
            from = Add(since.Epoch, since.Unit, t.Min);
            to = Add(since.Epoch, since.Unit, t.Max);
        }
        return new NetCdfCoverage(bounds, from, to);
    }

    private static NcVariable? Pick(NetCdfFile file, string standardName, params string[] units)
    {
        bool Numeric(NcVariable v) => v.Type is NcType.Float or NcType.Double && v.ElementCount is > 0 and <= MaxCoordinateElements;
        return file.Variables.FirstOrDefault(v => Numeric(v) && v.Attribute("standard_name")?.Value is string s && s == standardName)
               ?? file.Variables.FirstOrDefault(v => Numeric(v) && v.Attribute("units")?.Value is string u && units.Contains(u.Trim()));
    }

    private static (double Min, double Max)? Range(NetCdfFile file, NcVariable v)
    {
        try
        {
            var bytes = file.ReadValues(v);
            var fill = v.Attribute("_FillValue")?.AsDouble();
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            var size = v.Type.Size();
            for (var i = 0; i + size <= bytes.Length; i += size)
            {
                double x = v.Type switch
                {
                    NcType.Float => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i)),
                    NcType.Double => BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i)),
                    NcType.Int => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i)),
                    NcType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i)),
                    NcType.Short => BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(i)),
                    _ => double.NaN,
                };
                if (!double.IsFinite(x) || fill is { } f && (x == f || v.Type == NcType.Float && x == (float)f) || Math.Abs(x) >= 9.9e36) continue;
                min = Math.Min(min, x);
                max = Math.Max(max, x);
            }
            return min <= max ? (min, max) : null;
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException)
        {
            return null;
        }
    }

    private static readonly Regex SincePattern = new(@"^\s*(?<unit>\w+)\s+since\s+(?<date>.+?)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>The epoch and unit of a CF time <c>units</c> attribute (<c>seconds since 2024-01-01 00:00:00</c>), or null.</summary>
    public static (DateTimeOffset Epoch, TimeSpan Unit)? Since(string units)
    {
        var m = SincePattern.Match(units);
        if (!m.Success) return null;
        TimeSpan? unit = m.Groups["unit"].Value.ToLowerInvariant() switch
        {
            "seconds" or "second" or "secs" or "sec" or "s" => TimeSpan.FromSeconds(1),
            "minutes" or "minute" or "mins" or "min" => TimeSpan.FromMinutes(1),
            "hours" or "hour" or "hrs" or "hr" or "h" => TimeSpan.FromHours(1),
            "days" or "day" or "d" => TimeSpan.FromDays(1),
            _ => null,
        };
        var text = m.Groups["date"].Value.Trim();
        if (text.EndsWith(" UTC", StringComparison.OrdinalIgnoreCase)) text = text[..^4];
        string[] formats = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd HH:mm",
            "yyyy-MM-dd", "yyyy-M-d H:m:s", "yyyy-M-d H:m:s.f", "yyyy-M-d", "yyyy-MM-dd HH:mm:ss.f", "yyyy-MM-dd'T'HH:mm:ss.fff'Z'"];
        if (unit is null || !DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var epoch)) return null;
        return (epoch, unit.Value);
    }

    private static DateTimeOffset? Add(DateTimeOffset epoch, TimeSpan unit, double count)
    {
        var ticks = count * unit.Ticks;
        if (!double.IsFinite(ticks) || Math.Abs(ticks) > TimeSpan.FromDays(365 * 1000).Ticks) return null;
        return epoch.AddTicks((long)ticks);
    }
}
