using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Runs;

namespace Pipeline.Zarr.Grib;

/// <summary>One cfgrib-style dataset: fields sharing level type, step type and grid, laid out as a run group.</summary>
public sealed record Hypercube(string Group, RunLayout Layout, IReadOnlyList<GribFieldRecord> Fields, IReadOnlyList<string> DimensionAxes,
    int Duplicates)
{
    /// <summary>The values of the field along the group's dimension axes (in <see cref="DimensionAxes"/> order).</summary>
    public double[] AxisValues(GribFieldRecord f) => [.. DimensionAxes.Select(a => CfgribMapping.AxisValue(f, a))];
}

/// <summary>
/// Groups GRIB2 fields into hypercubes the way <c>cfgrib.open_datasets</c> does (one per level type, step type and
/// grid) and names them as cfgrib does: variables by cfVarName (t2m, u10, t, gh...), dims number/time/step/level
/// (only those with more than one value, the rest scalar coordinates), then latitude/longitude (regular grids),
/// y/x with 2-D latitude/longitude (projected grids) or values (reduced, unstructured); valid_time; CF and GRIB_* attributes.
/// </summary>
public static class CfgribMapping
{
    public const string LevelAxis = "$level";

    public static double AxisValue(GribFieldRecord f, string axis) => axis switch
    {
        "time" => f.TimeSeconds,
        "step" => f.StepHours,
        "number" => f.Number ?? 0,
        _ => f.Level,
    };

    /// <summary>
    /// Groups <paramref name="fields"/> into hypercubes. The coordinates of each distinct grid are computed once
    /// (<paramref name="parallelism"/> grids at a time) and shared by every group on that grid.
    /// </summary>
    public static IReadOnlyList<Hypercube> Plan(IEnumerable<GribFieldRecord> fields, CodecPipeline codecs, int maxChunkBytes = ChunkPlanner.DefaultMaxChunkBytes,
        int parallelism = 1)
    {
        var (cubes, grids) = PlanDeferred(fields, codecs, maxChunkBytes);
        Parallel.ForEach(grids, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism) }, g => g.Fill());
        return cubes;
    }

    /// <summary>
    /// <see cref="Plan"/> without computing the coordinates: the groups' latitude/longitude arrays are allocated but
    /// hold values only after every returned grid's <see cref="GridCoordinates.Fill"/> ran (so that the caller can
    /// run that work beside the decoding of fields). <paramref name="started"/>: grids, by key, already allocated
    /// (and perhaps being filled), to use instead of new ones.
    /// </summary>
    internal static (IReadOnlyList<Hypercube> Cubes, IReadOnlyList<GridCoordinates> Grids) PlanDeferred(IEnumerable<GribFieldRecord> fields,
        CodecPipeline codecs, int maxChunkBytes, IReadOnlyDictionary<string, GridCoordinates>? started = null)
    {
        var list = fields as IReadOnlyCollection<GribFieldRecord> ?? [.. fields];
        var coordinates = list.GroupBy(f => f.GridKey, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => started?.GetValueOrDefault(g.Key) ?? GridCoordinates.Allocate(g.First()), StringComparer.Ordinal);
        var groups = list
            .GroupBy(f => (f.TypeOfLevel, f.StepType, f.GridKey))
            .OrderBy(g => g.Key.TypeOfLevel, StringComparer.Ordinal).ThenBy(g => g.Key.StepType, StringComparer.Ordinal).ThenBy(g => g.Key.GridKey, StringComparer.Ordinal)
            .ToList();
        var result = new List<Hypercube>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in groups)
        {
            var name = Sanitize(g.Key.TypeOfLevel);
            if (groups.Count(o => o.Key.TypeOfLevel == g.Key.TypeOfLevel) > 1) name += "_" + g.Key.StepType;
            // cfgrib merges variables only when their coordinate values agree (t2m at 2 m and u10 at 10 m, or w on
            // fewer levels than t, become separate datasets): split by each variable's coordinate signature.
            var bySignature = g.GroupBy(f => f.Variable)
                .GroupBy(v => Signature(v), StringComparer.Ordinal)
                .OrderBy(s => s.Min(v => v.Key), StringComparer.Ordinal)
                .ToList();
            foreach (var part in bySignature)
            {
                var unique = name;
                for (var i = 2; !used.Add(unique); i++) unique = name + "_" + i.ToString(CultureInfo.InvariantCulture);
                result.Add(Build(unique, [.. part.SelectMany(v => v).OrderBy(f => f.File, StringComparer.Ordinal).ThenBy(f => f.MessageNumber).ThenBy(f => f.Field.IndexInMessage)],
                    codecs, maxChunkBytes, coordinates[g.Key.GridKey]));
            }
        }
        return (result, [.. coordinates.Values]);
    }

    private static string Signature(IEnumerable<GribFieldRecord> fields)
    {
        static string Join(IEnumerable<double> xs) => string.Join(',', xs.Distinct().Order().Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
        var list = fields.ToList();
        return Join(list.Select(f => f.TimeSeconds)) + "|" + Join(list.Select(f => f.StepHours)) + "|" + Join(list.Select(f => f.Level)) + "|" +
               Join(list.Select(f => (double)(f.Number ?? -1)));
    }

    /// <summary>cfgrib stores pressure levels top-down (decreasing); other coordinates increase.</summary>
    public static bool Decreasing(string typeOfLevel) => typeOfLevel is "isobaricInhPa" or "isobaricInPa";

    private static Hypercube Build(string group, List<GribFieldRecord> fields, CodecPipeline codecs, int maxChunkBytes, GridCoordinates coords)
    {
        var first = fields[0];
        var levelName = Sanitize(first.TypeOfLevel);
        var candidates = new List<(string Axis, string Name, ZarrDataType Type, JsonObject Attrs, double[] Values)>();
        double[] Distinct(Func<GribFieldRecord, double> f) => [.. fields.Select(f).Distinct().Order()];
        if (fields.Any(f => f.Number is not null))
            candidates.Add(("number", "number", ZarrDataType.Int64, new JsonObject { ["long_name"] = "ensemble member numerical id", ["standard_name"] = "realization", ["units"] = "1" }, Distinct(f => f.Number ?? 0)));
        candidates.Add(("time", "time", ZarrDataType.Int64, TimeAttrs("initial time of forecast", "forecast_reference_time"), Distinct(f => f.TimeSeconds)));
        candidates.Add(("step", "step", ZarrDataType.Float64, new JsonObject { ["long_name"] = "time since forecast_reference_time", ["standard_name"] = "forecast_period", ["units"] = "hours" }, Distinct(f => f.StepHours)));
        var levels = Distinct(f => f.Level);
        if (Decreasing(first.TypeOfLevel)) Array.Reverse(levels);
        candidates.Add((LevelAxis, levelName, ZarrDataType.Float64, LevelAttrs(first.TypeOfLevel), levels));

        var axes = new List<RunAxis>();
        var dimAxes = new List<string>();
        var statics = new List<RunStaticArray>();
        var scalarCoords = new List<string>();
        foreach (var (axis, name, type, attrs, values) in candidates)
        {
            if (values.Length > 1)
            {
                axes.Add(new RunAxis(name, type, attrs, Values: values));
                dimAxes.Add(axis);
            }
            else
            {
                statics.Add(new RunStaticArray(name, [], type, attrs, values));
                scalarCoords.Add(name);
            }
        }
        var axisNames = dimAxes.Select(a => a == LevelAxis ? levelName : a).ToList();

        // valid_time = time + step, over whichever of them are dimensions.
        var validAxes = axisNames.Where(a => a is "time" or "step").ToList();
        var validAttrs = TimeAttrs("time", "time");
        if (validAxes.Count == 0)
        {
            statics.Add(new RunStaticArray("valid_time", [], ZarrDataType.Int64, validAttrs, [first.TimeSeconds + first.StepHours * 3600]));
        }
        var derived = new List<RunDerivedArray>();
        if (validAxes.Count > 0)
        {
            var t0 = first.TimeSeconds;
            var s0 = first.StepHours;
            derived.Add(new RunDerivedArray("valid_time", validAxes, ZarrDataType.Int64, validAttrs,
                v => (v.TryGetValue("time", out var t) ? t : t0) + (v.TryGetValue("step", out var s) ? s : s0) * 3600));
        }

        // The grid.
        var grid = first.Grid;
        string[] gridDims;
        long[] gridShape;
        var nonDimCoords = new List<string>(scalarCoords) { "valid_time" };
        var latAttrs = new JsonObject { ["long_name"] = "latitude", ["standard_name"] = "latitude", ["units"] = "degrees_north" };
        var lonAttrs = new JsonObject { ["long_name"] = "longitude", ["standard_name"] = "longitude", ["units"] = "degrees_east" };
        switch (first.Layout)
        {
            case GridLayout.Regular:
                gridDims = ["latitude", "longitude"];
                gridShape = [grid.Ny, grid.Nx];
                statics.Add(new RunStaticArray("latitude", ["latitude"], ZarrDataType.Float64, latAttrs, coords.Lat));
                statics.Add(new RunStaticArray("longitude", ["longitude"], ZarrDataType.Float64, lonAttrs, coords.Lon));
                break;
            case GridLayout.Projected:
                gridDims = ["y", "x"];
                gridShape = [grid.Ny, grid.Nx];
                statics.Add(new RunStaticArray("latitude", ["y", "x"], ZarrDataType.Float64, latAttrs, coords.Lat, [grid.Ny, grid.Nx]));
                statics.Add(new RunStaticArray("longitude", ["y", "x"], ZarrDataType.Float64, lonAttrs, coords.Lon, [grid.Ny, grid.Nx]));
                nonDimCoords.AddRange(["latitude", "longitude"]);
                break;
            default:
                gridDims = ["values"];
                gridShape = [first.Field.NumberOfDataPoints];
                if (coords.Lat.Length == first.Field.NumberOfDataPoints && coords.Lat.Length > 0)
                {
                    statics.Add(new RunStaticArray("latitude", ["values"], ZarrDataType.Float64, latAttrs, coords.Lat));
                    statics.Add(new RunStaticArray("longitude", ["values"], ZarrDataType.Float64, lonAttrs, coords.Lon));
                    nonDimCoords.AddRange(["latitude", "longitude"]);
                }
                break;
        }

        // Variables, one per name; the first field of each gives its attributes. Repeated fields keep the first.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<GribFieldRecord>();
        var duplicates = 0;
        foreach (var f in fields)
        {
            var key = f.Variable + "|" + string.Join('|', dimAxes.Select(a => AxisValue(f, a).ToString("R", CultureInfo.InvariantCulture)));
            if (seen.Add(key)) kept.Add(f);
            else duplicates++;
        }
        var coordinates = string.Join(' ', nonDimCoords);
        var variables = kept.GroupBy(f => f.Variable).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new RunVariable(g.Key, axisNames, VariableAttrs(g.First(), coordinates))).ToList();

        var groupAttrs = new JsonObject
        {
            ["Conventions"] = "CF-1.7",
            ["GRIB_centre"] = first.Entry.Centre.ToString(CultureInfo.InvariantCulture),
            ["GRIB_edition"] = 2,
            ["GRIB_subCentre"] = first.Field.Message.Identification.SubCentre,
            ["institution"] = first.Entry.Centre.ToString(CultureInfo.InvariantCulture),
        };
        var layout = new RunLayout(group, axes, gridDims, gridShape, variables, statics, derived, groupAttrs, codecs, maxChunkBytes);
        return new Hypercube(group, layout, kept, dimAxes, duplicates);
    }

    private static JsonObject VariableAttrs(GribFieldRecord f, string coordinates)
    {
        var e = f.Entry;
        var a = new JsonObject
        {
            ["GRIB_NV"] = f.Product.NV,
            ["GRIB_cfName"] = e.CfName ?? "unknown",
            ["GRIB_cfVarName"] = e.CfVarName ?? "unknown",
            ["GRIB_dataRepresentationTemplateNumber"] = e.DataRepresentationTemplateNumber,
            ["GRIB_gridDefinitionTemplateNumber"] = e.GridDefinitionTemplateNumber,
            ["GRIB_gridType"] = f.Grid.GridType,
            ["GRIB_missingValue"] = 3.4028234663852886e+38,
            ["GRIB_name"] = e.Name,
            ["GRIB_numberOfPoints"] = e.NumberOfDataPoints,
            ["GRIB_paramCategory"] = e.ParameterCategory,
            ["GRIB_paramDiscipline"] = e.Discipline,
            ["GRIB_paramNumber"] = e.ParameterNumber,
            ["GRIB_productDefinitionTemplateNumber"] = e.ProductDefinitionTemplateNumber,
            ["GRIB_shortName"] = e.ShortName,
            ["GRIB_stepType"] = f.StepType,
            ["GRIB_stepUnits"] = 1,
            ["GRIB_typeOfLevel"] = f.TypeOfLevel,
            ["GRIB_units"] = e.Units,
            ["coordinates"] = coordinates,
            ["long_name"] = e.Name,
            ["standard_name"] = e.CfName ?? "unknown",
            ["units"] = e.Units,
        };
        if (f.Grid.Nx > 0) a["GRIB_Nx"] = f.Grid.Nx;
        if (f.Grid.Ny > 0) a["GRIB_Ny"] = f.Grid.Ny;
        if (e.StepRange is { } sr) a["GRIB_stepRange"] = sr;
        return a;
    }

    private static JsonObject TimeAttrs(string longName, string standardName) => new()
    {
        ["calendar"] = "proleptic_gregorian",
        ["long_name"] = longName,
        ["standard_name"] = standardName,
        ["units"] = "seconds since 1970-01-01T00:00:00",
    };

    /// <summary>cfgrib's coordinate attributes for common level types; a generic description otherwise.</summary>
    public static JsonObject LevelAttrs(string typeOfLevel) => typeOfLevel switch
    {
        "isobaricInhPa" => new JsonObject { ["long_name"] = "pressure", ["positive"] = "down", ["standard_name"] = "air_pressure", ["stored_direction"] = "decreasing", ["units"] = "hPa" },
        "isobaricInPa" => new JsonObject { ["long_name"] = "pressure", ["positive"] = "down", ["standard_name"] = "air_pressure", ["stored_direction"] = "decreasing", ["units"] = "Pa" },
        "heightAboveGround" => new JsonObject { ["long_name"] = "height above the surface", ["positive"] = "up", ["standard_name"] = "height", ["units"] = "m" },
        "heightAboveSea" => new JsonObject { ["long_name"] = "height above mean sea level", ["positive"] = "up", ["standard_name"] = "height", ["units"] = "m" },
        "depthBelowLandLayer" => new JsonObject { ["long_name"] = "soil depth", ["positive"] = "down", ["standard_name"] = "depth", ["units"] = "m" },
        "hybrid" => new JsonObject { ["long_name"] = "hybrid level", ["positive"] = "down", ["standard_name"] = "atmosphere_hybrid_sigma_pressure_coordinate", ["units"] = "1" },
        _ => new JsonObject { ["long_name"] = $"original GRIB coordinate for key: level({typeOfLevel})", ["units"] = "1" },
    };

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' ? c : '_').ToArray();
        var s = new string(chars);
        return s.Length == 0 || s.StartsWith('.') ? "unknown" : s;
    }
}

/// <summary>
/// The coordinates a group writes for its grid, computed once per distinct grid: 1-D latitude and longitude for
/// regular grids (rows and columns), one value per point otherwise; empty when the grid defines none.
/// </summary>
internal sealed class GridCoordinates
{
    private readonly GribFieldRecord _field;

    private GridCoordinates(GribFieldRecord field, double[] lat, double[] lon)
    {
        _field = field;
        Lat = lat;
        Lon = lon;
    }

    public double[] Lat { get; }

    public double[] Lon { get; }

    /// <summary>Number of points whose coordinates <see cref="Fill"/> computes (a cost estimate for scheduling).</summary>
    public long Points => _field.Grid.HasCoordinates ? _field.Grid.PointCount : 0;

    /// <summary>The arrays, sized for the grid, not yet filled.</summary>
    public static GridCoordinates Allocate(GribFieldRecord f)
    {
        var grid = f.Grid;
        if (!grid.HasCoordinates) return new(f, [], []);
        if (f.Layout == GridLayout.Regular) return new(f, new double[grid.Ny], new double[grid.Nx]);
        return new(f, new double[grid.PointCount], new double[grid.PointCount]);
    }

    private Task? _filling;

    /// <summary>
    /// Starts <see cref="Fill"/> on the thread pool unless it has started: a conversion starts the large projected
    /// grids as soon as their file is scanned, so that they use the core the scanning and planning leave idle.
    /// </summary>
    public Task FillAsync(ConversionTimings? timings = null)
    {
        if (Volatile.Read(ref _filling) is { } started) return started;
        var task = new Task(() =>
        {
            using (timings?.Step("coordinates")) Fill();
        });
        if (Interlocked.CompareExchange(ref _filling, task, null) is { } other) return other;
        task.Start(TaskScheduler.Default);
        return task;
    }

    /// <summary>The fill <see cref="FillAsync"/> started, if it did.</summary>
    public Task? Started => Volatile.Read(ref _filling);

    /// <summary>Computes the coordinates into the arrays (safe to call from any one thread; see <see cref="FillAsync"/>).</summary>
    public void Fill()
    {
        var grid = _field.Grid;
        if (!grid.HasCoordinates) return;
        if (_field.Layout != GridLayout.Regular)
        {
            grid.GetLatLons(Lat, Lon);
            return;
        }
        if (grid is Pipeline.Grib2.Grids.LatLonGrid { IsRotated: false, IsReduced: false } ll && !ll.Scanning.JPointsAreConsecutive)
        {
            // Rows and columns directly: a 0.01-degree grid has 25 M points whose coordinates we would only drop.
            ll.GetRowsAndColumns(Lat, Lon);
            return;
        }
        var (lat, lon) = grid.GetLatLons();
        var nx = Lon.Length;
        for (var j = 0; j < Lat.Length; j++) Lat[j] = lat[j * nx];
        lon.AsSpan(0, nx).CopyTo(Lon);
    }
}
