using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pipeline.Packaging.Boundaries;

/// <summary>A closed ring of (longitude, latitude) positions in degrees; the last position repeats the first.</summary>
public sealed record Ring(double[] Lon, double[] Lat)
{
    public int Count => Lon.Length;
}

/// <summary>One polygon: an outer ring and its holes (even-odd: a point is inside when it crosses an odd number of edges).</summary>
public sealed record BoundaryPolygon(Ring Outer, IReadOnlyList<Ring> Holes)
{
    public IEnumerable<Ring> Rings => Holes.Prepend(Outer);
}

/// <summary>A box in degrees: <see cref="West"/> may exceed 180 when the boundary is given in 0..360 longitudes.</summary>
public sealed record GeoBox(double West, double South, double East, double North)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[{West:0.####}, {South:0.####}, {East:0.####}, {North:0.####}]");
}

/// <summary>
/// A named area (GeoJSON Polygon or MultiPolygon, WGS84 longitude/latitude). Built only by
/// <see cref="GeoJsonBoundaries"/>, which validates it: closed rings, no self-intersection, an area.
/// <see cref="Contains"/> tests a grid cell centre: a bounding-box prefilter, then even-odd ray casting, with the
/// point's longitude brought into the boundary's frame first (grids in 0..360 against boundaries in -180..180).
/// </summary>
public sealed class Boundary
{
    internal Boundary(string name, IReadOnlyList<BoundaryPolygon> polygons)
    {
        Name = name;
        Polygons = polygons;
        Boxes = [.. polygons.Select(p => BoxOf(p.Outer))];
        Box = new GeoBox(Boxes.Min(b => b.West), Boxes.Min(b => b.South), Boxes.Max(b => b.East), Boxes.Max(b => b.North));
        Geometry = GeometryJson(polygons);
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Geometry)));
    }

    public string Name { get; }

    public IReadOnlyList<BoundaryPolygon> Polygons { get; }

    public GeoBox Box { get; }

    internal GeoBox[] Boxes { get; }

    /// <summary>The geometry as canonical GeoJSON text (what is stored, and what its hash covers).</summary>
    public string Geometry { get; }

    /// <summary>Hex SHA-256 of <see cref="Geometry"/>: the boundary's identity in job parameters and provenance.</summary>
    public string Sha256 { get; }

    public int Vertices => Polygons.Sum(p => p.Rings.Sum(r => r.Count));

    /// <summary>Is the point (degrees; any longitude convention) inside the boundary?</summary>
    public bool Contains(double lat, double lon)
    {
        if (double.IsNaN(lat) || double.IsNaN(lon)) return false;
        var x = InFrame(lon);
        if (lat < Box.South || lat > Box.North || x > Box.East) return false;
        for (var p = 0; p < Polygons.Count; p++)
        {
            var b = Boxes[p];
            if (lat < b.South || lat > b.North || x < b.West || x > b.East) continue;
            var inside = false;
            foreach (var ring in Polygons[p].Rings)
                if (Crossings(ring, x, lat)) inside = !inside;
            if (inside) return true;
        }
        return false;
    }

    /// <summary>The longitude brought into [West, West + 360), the boundary's frame.</summary>
    public double InFrame(double lon)
    {
        var d = (lon - Box.West) % 360.0;
        if (d < 0) d += 360.0;
        return Box.West + d;
    }

    /// <summary>Does the longitude (any convention) fall within the box's longitudes?</summary>
    public bool InLongitudes(double lon) => InFrame(lon) <= Box.East;

    private static bool Crossings(Ring ring, double x, double y)
    {
        var odd = false;
        var lon = ring.Lon;
        var lat = ring.Lat;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            if ((lat[i] > y) != (lat[j] > y) && x < (lon[j] - lon[i]) * (y - lat[i]) / (lat[j] - lat[i]) + lon[i]) odd = !odd;
        }
        return odd;
    }

    private static GeoBox BoxOf(Ring r) => new(r.Lon.Min(), r.Lat.Min(), r.Lon.Max(), r.Lat.Max());

    private static string GeometryJson(IReadOnlyList<BoundaryPolygon> polygons)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("type", polygons.Count == 1 ? "Polygon" : "MultiPolygon");
            w.WritePropertyName("coordinates");
            if (polygons.Count > 1) w.WriteStartArray();
            foreach (var p in polygons)
            {
                w.WriteStartArray();
                foreach (var r in p.Rings)
                {
                    w.WriteStartArray();
                    for (var i = 0; i < r.Count; i++)
                    {
                        w.WriteStartArray();
                        w.WriteNumberValue(r.Lon[i]);
                        w.WriteNumberValue(r.Lat[i]);
                        w.WriteEndArray();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            if (polygons.Count > 1) w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
