using Pipeline.Packaging.Boundaries;
using Pipeline.Zarr.Grib;

namespace Pipeline.Packaging.Processing;

/// <summary>
/// The clip and mask processors for one grid: which source points make up the package's grid (the boundary's
/// bounding box) and which of those are inside the polygon (the others become missing). Computed once per grid from
/// the coordinates of every point, then applied to each field.
/// <list type="bullet">
/// <item>Regular (lat/lon, regular Gaussian): the rows and the columns whose coordinate is in the box; columns are
/// ordered by longitude in the boundary's frame, so a box across the grid's seam (a 0..360 grid, a box from -10 to 10)
/// is one contiguous block, and the package's longitudes are in the boundary's convention.</item>
/// <item>Projected and rotated (y/x with 2-D coordinates): the smallest window of rows and columns holding every point
/// in the box.</item>
/// <item>Reduced and unstructured (one <c>values</c> dimension): the points in the box.</item>
/// </list>
/// </summary>
public sealed class ClipPlan
{
    private readonly int[] _source; // for each output cell, the index of its source point

    private ClipPlan(GridLayout layout, int[] source, bool[] inside, long[] shape, double[] lat, double[] lon, long[]? coordinateShape)
    {
        Layout = layout;
        _source = source;
        Inside = inside;
        Shape = shape;
        Lat = lat;
        Lon = lon;
        CoordinateShape = coordinateShape;
        InsideCount = inside.Count(x => x);
    }

    public GridLayout Layout { get; }

    /// <summary>Output cells: per cell, whether its centre is inside the boundary.</summary>
    public bool[] Inside { get; }

    public int InsideCount { get; }

    public int Cells => _source.Length;

    /// <summary>The output grid shape ([rows, columns] or [points]).</summary>
    public long[] Shape { get; }

    /// <summary>Output latitudes: per row (regular) or per cell.</summary>
    public double[] Lat { get; }

    /// <summary>Output longitudes: per column (regular) or per cell.</summary>
    public double[] Lon { get; }

    /// <summary>The shape of 2-D coordinates (projected grids), else null.</summary>
    public long[]? CoordinateShape { get; }

    /// <summary>Clips and masks one field (source values in ecCodes order) into <paramref name="destination"/> (<see cref="Cells"/> values).</summary>
    public void Apply(ReadOnlySpan<float> values, Span<float> destination)
    {
        for (var k = 0; k < _source.Length; k++) destination[k] = Inside[k] ? values[_source[k]] : float.NaN;
    }

    /// <summary>The source point index of output cell <paramref name="k"/>.</summary>
    public int SourceOf(int k) => _source[k];

    /// <summary>
    /// The plan for a grid given its coordinates (as the cfgrib layout holds them: 1-D rows and columns for regular
    /// grids, one value per point otherwise). Null boundary: every point, none masked. Returns null when no point
    /// of the grid is inside the boundary's box.
    /// </summary>
    public static ClipPlan? For(GridLayout layout, double[] lat, double[] lon, long ny, long nx, Boundary? boundary)
    {
        return layout switch
        {
            GridLayout.Regular => Regular(lat, lon, boundary),
            GridLayout.Projected => Window(lat, lon, ny, nx, boundary),
            _ => Points(lat, lon, boundary),
        };
    }

    private static ClipPlan? Regular(double[] lat, double[] lon, Boundary? b)
    {
        var rows = Enumerable.Range(0, lat.Length).Where(j => b is null || (lat[j] >= b.Box.South && lat[j] <= b.Box.North)).ToArray();
        var cols = Enumerable.Range(0, lon.Length).Where(i => b is null || b.InLongitudes(lon[i])).ToArray();
        if (rows.Length == 0 || cols.Length == 0) return null;
        double[] outLon;
        if (b is null)
        {
            outLon = [.. cols.Select(i => lon[i])];
        }
        else
        {
            cols = [.. cols.OrderBy(i => b.InFrame(lon[i]))];
            outLon = [.. cols.Select(i => b.InFrame(lon[i]))];
        }
        var outLat = rows.Select(j => lat[j]).ToArray();
        var source = new int[rows.Length * cols.Length];
        var inside = new bool[source.Length];
        for (var r = 0; r < rows.Length; r++)
        for (var c = 0; c < cols.Length; c++)
        {
            var k = r * cols.Length + c;
            source[k] = rows[r] * lon.Length + cols[c];
            inside[k] = b is null || b.Contains(outLat[r], outLon[c]);
        }
        return new ClipPlan(GridLayout.Regular, source, inside, [rows.Length, cols.Length], outLat, outLon, null);
    }

    private static ClipPlan? Window(double[] lat, double[] lon, long ny, long nx, Boundary? b)
    {
        int j0 = int.MaxValue, j1 = -1, i0 = int.MaxValue, i1 = -1;
        for (var j = 0; j < ny; j++)
        for (var i = 0; i < nx; i++)
        {
            var p = (int)(j * nx + i);
            if (b is not null && !(lat[p] >= b.Box.South && lat[p] <= b.Box.North && b.InLongitudes(lon[p]))) continue;
            j0 = Math.Min(j0, j);
            j1 = Math.Max(j1, j);
            i0 = Math.Min(i0, i);
            i1 = Math.Max(i1, i);
        }
        if (j1 < 0) return null;
        int rows = j1 - j0 + 1, cols = i1 - i0 + 1;
        var source = new int[rows * cols];
        var inside = new bool[source.Length];
        var outLat = new double[source.Length];
        var outLon = new double[source.Length];
        for (var r = 0; r < rows; r++)
        for (var c = 0; c < cols; c++)
        {
            var k = r * cols + c;
            var p = (int)((j0 + r) * nx + i0 + c);
            source[k] = p;
            outLat[k] = lat[p];
            outLon[k] = lon[p];
            inside[k] = b is null || b.Contains(lat[p], lon[p]);
        }
        return new ClipPlan(GridLayout.Projected, source, inside, [rows, cols], outLat, outLon, [rows, cols]);
    }

    private static ClipPlan? Points(double[] lat, double[] lon, Boundary? b)
    {
        var points = Enumerable.Range(0, lat.Length)
            .Where(p => b is null || (lat[p] >= b.Box.South && lat[p] <= b.Box.North && b.InLongitudes(lon[p]))).ToArray();
        if (points.Length == 0) return null;
        var inside = points.Select(p => b is null || b.Contains(lat[p], lon[p])).ToArray();
        return new ClipPlan(GridLayout.Values, points, inside, [points.Length], [.. points.Select(p => lat[p])], [.. points.Select(p => lon[p])], null);
    }
}
