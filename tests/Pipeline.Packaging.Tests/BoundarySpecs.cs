using Pipeline.Packaging.Boundaries;
using Xunit;

namespace Pipeline.Packaging.Tests;

public sealed class BoundarySpecs
{
    private const string Square = """{ "type": "Polygon", "coordinates": [[[-10, -10], [10, -10], [10, 10], [-10, 10], [-10, -10]], [[-2, -2], [2, -2], [2, 2], [-2, 2], [-2, -2]]] }""";

    private static string Error(string json, string? name = "x")
    {
        var e = Assert.Throws<BoundaryException>(() => GeoJsonBoundaries.Parse(json, name));
        return e.Message;
    }

    [Fact]
    public void Should_contain_points_inside_the_outer_ring_and_not_in_the_hole_whatever_the_longitude_convention()
    {
        var b = GeoJsonBoundaries.Parse(Square, "square").Single();
        Assert.True(b.Contains(5, 5));
        Assert.True(b.Contains(-5, 355));       // 355 is -5 in the boundary's frame
        Assert.True(b.Contains(5, -355));
        Assert.False(b.Contains(0, 0));         // in the hole
        Assert.False(b.Contains(0, 20));
        Assert.False(b.Contains(0, 340));
        Assert.False(b.Contains(double.NaN, 0));
        Assert.Equal(new GeoBox(-10, -10, 10, 10), b.Box);
    }

    [Fact]
    public void Should_read_every_named_feature_of_a_collection_with_polygons_and_multipolygons()
    {
        var list = GeoJsonBoundaries.Parse("""
            { "type": "FeatureCollection", "features": [
              { "type": "Feature", "properties": { "NAME_1": "A" }, "geometry": { "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]] } },
              { "type": "Feature", "properties": { "NAME_1": "B b" }, "geometry": { "type": "MultiPolygon", "coordinates": [[[[0,0],[1,0],[1,1],[0,0]]], [[[5,5],[6,5],[6,6],[5,5]]]] } } ] }
            """, nameProperty: "NAME_1");
        Assert.Equal(["A", "B b"], list.Select(b => b.Name));
        Assert.Equal(2, list[1].Polygons.Count);
        Assert.True(list[1].Contains(5.2, 5.8));
        Assert.False(list[1].Contains(3, 3));
        // The stored geometry reads back to the same boundary (same hash).
        Assert.Equal(list[1].Sha256, GeoJsonBoundaries.Parse(list[1].Geometry, "B b").Single().Sha256);
    }

    [Fact]
    public void Should_name_the_ring_and_the_segments_when_a_polygon_intersects_itself()
    {
        var message = Error("""{ "type": "Polygon", "coordinates": [[[0,0],[10,10],[10,0],[0,10],[0,0]]] }""");
        Assert.Contains("self-intersection", message);
        Assert.Contains("ring 0 segment 0", message);
        Assert.Contains("ring 0 segment 2", message);
        Assert.Contains("self-intersection", Error("""{ "type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[5,5],[15,5],[15,6],[5,6],[5,5]]] }"""));
        Assert.Contains("self-intersection", Error("""{ "type": "Polygon", "coordinates": [[[0,0],[10,0],[5,0],[5,5],[0,0]]] }"""));
    }

    [Theory]
    [InlineData("""{ "type": "Polygon", "coordinates": [] }""", "empty")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[]] }""", "empty")]
    [InlineData("""{ "type": "MultiPolygon", "coordinates": [] }""", "empty")]
    [InlineData("""{ "type": "FeatureCollection", "features": [] }""", "empty")]
    [InlineData("""{ "type": "Feature", "properties": {}, "geometry": null }""", "no geometry")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]] }""", "at least 4")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]] }""", "not closed")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[[0,0],[0,0],[0,0],[0,0]]] }""", "no area")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[[0,0],[1,0],[2,0],[0,0]]] }""", "overlaps")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[[0,0],[400,0],[1,1],[0,0]]] }""", "longitude 400")]
    [InlineData("""{ "type": "Polygon", "coordinates": [[[0,0],["a",0],[1,1],[0,0]]] }""", "finite number")]
    [InlineData("""{ "type": "Point", "coordinates": [0, 0] }""", "unsupported GeoJSON type 'Point'")]
    [InlineData("""{ "coordinates": [] }""", "no \"type\"")]
    [InlineData("""[1, 2]""", "must be an object")]
    [InlineData("""{ "type": "Polygon", """, "not valid JSON")]
    public void Should_refuse_bad_geojson_with_a_reason(string json, string reason) => Assert.Contains(reason, Error(json));

    [Fact]
    public void Should_refuse_a_missing_or_bad_name_and_duplicate_names()
    {
        Assert.Contains("needs a name", Error("""{ "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]] }""", null));
        Assert.Contains("no name", Error("""{ "type": "Feature", "properties": {}, "geometry": { "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]] } }""", null));
        Assert.Contains("needs a name", Error("""{ "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]] }""", "a/b"));
        Assert.Contains("given to 2 features", Error("""
            { "type": "FeatureCollection", "features": [
              { "type": "Feature", "properties": { "name": "A" }, "geometry": { "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]] } },
              { "type": "Feature", "properties": { "name": "A" }, "geometry": { "type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]] } } ] }
            """, null));
    }
}
