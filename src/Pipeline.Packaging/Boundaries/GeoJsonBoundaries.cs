using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Packaging.Boundaries;

/// <summary>Bad boundary input; the message names where (feature, polygon, ring, position) and why.</summary>
public sealed class BoundaryException(string message) : Exception(message);

/// <summary>
/// Reads named boundaries from GeoJSON (RFC 7946): a FeatureCollection, a Feature, or a bare Polygon / MultiPolygon
/// geometry, in WGS84 longitude/latitude. Validates every ring: at least four positions, closed, finite coordinates
/// within [-180, 360] x [-90, 90], a non-zero area, no self-intersection (and no ring crossing another ring of its
/// polygon). Every error names the feature and the ring.
/// </summary>
public static partial class GeoJsonBoundaries
{
    /// <summary>Names: letters, digits, space and <c>._'-</c>, 1 to 100 characters.</summary>
    public static bool IsValidName(string? name) => name is { Length: > 0 and <= 100 } && NamePattern().IsMatch(name) && name.Trim() == name;

    /// <param name="json">The GeoJSON text.</param>
    /// <param name="name">The name of a single geometry or feature (required when the input has no name property).</param>
    /// <param name="nameProperty">The feature property holding each boundary's name (default <c>name</c>).</param>
    public static IReadOnlyList<Boundary> Parse(string json, string? name = null, string? nameProperty = null)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new BoundaryException($"not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new BoundaryException("GeoJSON must be an object with a \"type\"");
            var type = TypeOf(root, "the document");
            var property = nameProperty ?? "name";
            var result = new List<Boundary>();
            switch (type)
            {
                case "FeatureCollection":
                    if (!root.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Array)
                        throw new BoundaryException("FeatureCollection: \"features\" must be an array");
                    if (features.GetArrayLength() == 0) throw new BoundaryException("FeatureCollection: empty, no features");
                    var i = 0;
                    foreach (var f in features.EnumerateArray())
                    {
                        result.Add(Feature(f, $"features[{i}]", features.GetArrayLength() == 1 ? name : null, property));
                        i++;
                    }
                    break;
                case "Feature":
                    result.Add(Feature(root, "feature", name, property));
                    break;
                case "Polygon" or "MultiPolygon":
                    if (!IsValidName(name)) throw new BoundaryException($"a bare {type} needs a name (letters, digits, space, ._'-; got '{name}')");
                    result.Add(Geometry(root, name!, type));
                    break;
                default:
                    throw new BoundaryException($"unsupported GeoJSON type '{type}': give a FeatureCollection, Feature, Polygon or MultiPolygon");
            }
            var duplicate = result.GroupBy(b => b.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) throw new BoundaryException($"the name '{duplicate.Key}' is given to {duplicate.Count()} features");
            return result;
        }
    }

    private static Boundary Feature(JsonElement f, string where, string? name, string property)
    {
        if (f.ValueKind != JsonValueKind.Object || TypeOf(f, where) != "Feature") throw new BoundaryException($"{where}: must be a Feature");
        var own = f.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object && props.TryGetProperty(property, out var n)
                  && n.ValueKind == JsonValueKind.String
            ? n.GetString()
            : null;
        var chosen = own ?? name;
        if (!IsValidName(chosen))
            throw new BoundaryException(chosen is null
                ? $"{where}: no name: set properties.{property} (or name the boundary)"
                : $"{where}: name '{chosen}' must be 1-100 letters, digits, spaces or ._'- characters");
        if (!f.TryGetProperty("geometry", out var g) || g.ValueKind != JsonValueKind.Object)
            throw new BoundaryException($"{where} ('{chosen}'): no geometry (empty)");
        var type = TypeOf(g, where + ".geometry");
        if (type is not ("Polygon" or "MultiPolygon"))
            throw new BoundaryException($"{where} ('{chosen}'): geometry type '{type}' is not a Polygon or MultiPolygon");
        return Geometry(g, chosen!, type, $"{where} ('{chosen}')");
    }

    private static Boundary Geometry(JsonElement g, string name, string type, string? where = null)
    {
        where ??= $"'{name}'";
        if (!g.TryGetProperty("coordinates", out var c) || c.ValueKind != JsonValueKind.Array)
            throw new BoundaryException($"{where}: \"coordinates\" must be an array");
        var polygons = new List<BoundaryPolygon>();
        if (type == "Polygon")
        {
            polygons.Add(Polygon(c, $"{where}: polygon"));
        }
        else
        {
            var i = 0;
            foreach (var p in c.EnumerateArray()) polygons.Add(Polygon(p, $"{where}: polygon {i++}"));
        }
        if (polygons.Count == 0) throw new BoundaryException($"{where}: empty {type}, no polygon");
        return new Boundary(name, polygons);
    }

    private static BoundaryPolygon Polygon(JsonElement p, string where)
    {
        if (p.ValueKind != JsonValueKind.Array) throw new BoundaryException($"{where}: must be an array of rings");
        var rings = new List<Ring>();
        var r = 0;
        foreach (var ring in p.EnumerateArray()) rings.Add(RingOf(ring, $"{where} ring {r++}"));
        if (rings.Count == 0) throw new BoundaryException($"{where}: empty, no ring");
        var polygon = new BoundaryPolygon(rings[0], rings.Skip(1).ToList());
        SelfIntersection.Check(polygon, where);
        r = 0;
        foreach (var ring in polygon.Rings)
        {
            var area = 0.0;
            for (var k = 0; k < ring.Count - 1; k++) area += ring.Lon[k] * ring.Lat[k + 1] - ring.Lon[k + 1] * ring.Lat[k];
            if (Math.Abs(area) < 1e-12) throw new BoundaryException($"{where} ring {r}: no area (its positions are collinear or repeated)");
            r++;
        }
        return polygon;
    }

    private static Ring RingOf(JsonElement ring, string where)
    {
        if (ring.ValueKind != JsonValueKind.Array) throw new BoundaryException($"{where}: must be an array of positions");
        var n = ring.GetArrayLength();
        if (n == 0) throw new BoundaryException($"{where}: empty");
        if (n < 4) throw new BoundaryException($"{where}: {n} positions; a ring needs at least 4 (closed)");
        var lon = new double[n];
        var lat = new double[n];
        var i = 0;
        foreach (var pos in ring.EnumerateArray())
        {
            if (pos.ValueKind != JsonValueKind.Array || pos.GetArrayLength() < 2)
                throw new BoundaryException($"{where} position {i}: must be [longitude, latitude]");
            var x = Number(pos[0], $"{where} position {i} longitude");
            var y = Number(pos[1], $"{where} position {i} latitude");
            if (x is < -180 or > 360) throw new BoundaryException(string.Create(CultureInfo.InvariantCulture, $"{where} position {i}: longitude {x} outside [-180, 360] (WGS84 degrees expected)"));
            if (y is < -90 or > 90) throw new BoundaryException(string.Create(CultureInfo.InvariantCulture, $"{where} position {i}: latitude {y} outside [-90, 90] (WGS84 degrees expected)"));
            lon[i] = x;
            lat[i] = y;
            i++;
        }
        if (lon[0] != lon[^1] || lat[0] != lat[^1])
            throw new BoundaryException(string.Create(CultureInfo.InvariantCulture, $"{where}: not closed: the first position ({lon[0]}, {lat[0]}) differs from the last ({lon[^1]}, {lat[^1]})"));
        return new Ring(lon, lat);
    }

    private static double Number(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var v) || !double.IsFinite(v))
            throw new BoundaryException($"{where}: must be a finite number (got {e.GetRawText()})");
        return v;
    }

    private static string TypeOf(JsonElement e, string where) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : throw new BoundaryException($"{where}: no \"type\" member");

    [GeneratedRegex(@"^[\p{L}\p{N} ._'-]+$")]
    private static partial Regex NamePattern();
}

/// <summary>
/// Segment intersection over a polygon's rings: segments sorted by their western end, each compared only with those
/// whose longitude spans overlap (a sweep), so country-sized rings stay cheap.
/// </summary>
internal static class SelfIntersection
{
    private readonly record struct Segment(int Ring, int Index, int RingCount, double X1, double Y1, double X2, double Y2)
    {
        public double MinX => Math.Min(X1, X2);
        public double MaxX => Math.Max(X1, X2);
    }

    public static void Check(BoundaryPolygon polygon, string where)
    {
        var segments = new List<Segment>();
        var r = 0;
        foreach (var ring in polygon.Rings)
        {
            var n = ring.Count - 1;
            for (var i = 0; i < n; i++)
            {
                if (ring.Lon[i] == ring.Lon[i + 1] && ring.Lat[i] == ring.Lat[i + 1]) continue; // repeated position
                segments.Add(new Segment(r, i, n, ring.Lon[i], ring.Lat[i], ring.Lon[i + 1], ring.Lat[i + 1]));
            }
            r++;
        }
        segments.Sort((a, b) => a.MinX.CompareTo(b.MinX));
        for (var a = 0; a < segments.Count; a++)
        {
            var s = segments[a];
            for (var b = a + 1; b < segments.Count && segments[b].MinX <= s.MaxX; b++)
            {
                var t = segments[b];
                var kind = Intersect(s, t);
                if (kind == Kind.None) continue;
                var sameRing = s.Ring == t.Ring;
                var adjacent = sameRing && (Math.Abs(s.Index - t.Index) == 1 || Math.Abs(s.Index - t.Index) == s.RingCount - 1);
                if (adjacent && kind != Kind.Overlap) continue;
                if (!sameRing && kind == Kind.Touch) continue;
                var (first, second) = s.Ring < t.Ring || (s.Ring == t.Ring && s.Index < t.Index) ? (s, t) : (t, s);
                throw new BoundaryException(string.Create(CultureInfo.InvariantCulture,
                    $"{where}: self-intersection: ring {first.Ring} segment {first.Index} ({first.X1}, {first.Y1})-({first.X2}, {first.Y2}) " +
                    $"{(kind == Kind.Overlap ? "overlaps" : "meets")} ring {second.Ring} segment {second.Index} ({second.X1}, {second.Y1})-({second.X2}, {second.Y2})"));
            }
        }
    }

    private enum Kind { None, Proper, Touch, Overlap }

    private static Kind Intersect(Segment s, Segment t)
    {
        var d1 = Orient(t.X1, t.Y1, t.X2, t.Y2, s.X1, s.Y1);
        var d2 = Orient(t.X1, t.Y1, t.X2, t.Y2, s.X2, s.Y2);
        var d3 = Orient(s.X1, s.Y1, s.X2, s.Y2, t.X1, t.Y1);
        var d4 = Orient(s.X1, s.Y1, s.X2, s.Y2, t.X2, t.Y2);
        if (d1 == 0 && d2 == 0)
        {
            // Collinear: overlapping over more than a point?
            var (a0, a1, b0, b1) = Math.Abs(s.X2 - s.X1) >= Math.Abs(s.Y2 - s.Y1)
                ? (Math.Min(s.X1, s.X2), Math.Max(s.X1, s.X2), Math.Min(t.X1, t.X2), Math.Max(t.X1, t.X2))
                : (Math.Min(s.Y1, s.Y2), Math.Max(s.Y1, s.Y2), Math.Min(t.Y1, t.Y2), Math.Max(t.Y1, t.Y2));
            var lo = Math.Max(a0, b0);
            var hi = Math.Min(a1, b1);
            return hi > lo ? Kind.Overlap : hi == lo ? Kind.Touch : Kind.None;
        }
        if (d1 * d2 < 0 && d3 * d4 < 0) return Kind.Proper;
        if ((d1 == 0 && OnSegment(t, s.X1, s.Y1)) || (d2 == 0 && OnSegment(t, s.X2, s.Y2)) ||
            (d3 == 0 && OnSegment(s, t.X1, t.Y1)) || (d4 == 0 && OnSegment(s, t.X2, t.Y2)))
            return Kind.Touch;
        return Kind.None;
    }

    private static int Orient(double ax, double ay, double bx, double by, double cx, double cy)
    {
        var v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
        return v > 0 ? 1 : v < 0 ? -1 : 0;
    }

    private static bool OnSegment(Segment s, double x, double y) =>
        x >= Math.Min(s.X1, s.X2) && x <= Math.Max(s.X1, s.X2) && y >= Math.Min(s.Y1, s.Y2) && y <= Math.Max(s.Y1, s.Y2);
}
