using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Pipeline.Grib2;
using Pipeline.Grib2.Grids;
using Pipeline.Grib2.Indexing;
using Pipeline.Grib2.Products;

namespace Pipeline.Zarr.Grib;

/// <summary>How a grid lays out in Zarr: cfgrib's three shapes.</summary>
public enum GridLayout
{
    /// <summary>regular_ll / regular_gg: dims latitude, longitude with 1-D coordinates.</summary>
    Regular,
    /// <summary>Projected or rotated grids: dims y, x with 2-D latitude/longitude coordinates.</summary>
    Projected,
    /// <summary>Reduced and unstructured grids: one dim <c>values</c>.</summary>
    Values,
}

/// <summary>One GRIB2 field with everything the mapping needs: where it is, what it is, when and where.</summary>
public sealed record GribFieldRecord(
    string File,
    int MessageNumber,
    GribField Field,
    InventoryEntry Entry,
    GridDefinition Grid,
    ProductDefinition Product,
    string Variable,
    string TypeOfLevel,
    double Level,
    double TimeSeconds,
    double StepHours,
    string StepType,
    int? Number,
    string GridKey)
{
    public GridLayout Layout => LayoutOf(Grid);

    /// <summary>
    /// cfgrib's choice (0.9.10, <c>cfgrib.dataset</c>): <c>GRID_TYPES_DIMENSION_COORDS</c> (regular_ll, regular_gg)
    /// get latitude/longitude dims; <c>GRID_TYPES_2D_NON_DIMENSION_COORDS</c> (rotated_ll, rotated_gg, lambert,
    /// lambert_azimuthal_equal_area, albers, polar_stereographic) get y/x; every other grid type (mercator,
    /// space_view, reduced and unstructured grids...) one <c>values</c> dim.
    /// </summary>
    public static GridLayout LayoutOf(GridDefinition grid)
    {
        if (grid.PointsPerRow.Count > 0 || grid.Nx <= 0 || grid.Ny <= 0 || !grid.HasCoordinates) return GridLayout.Values;
        return grid.GridType switch
        {
            "regular_ll" or "regular_gg" => GridLayout.Regular,
            "rotated_ll" or "rotated_gg" or "lambert" or "lambert_azimuthal_equal_area" or "albers" or "polar_stereographic" => GridLayout.Projected,
            _ => GridLayout.Values,
        };
    }

    /// <summary>Reads every field of a file (the bytes stay in memory for decoding).</summary>
    public static IReadOnlyList<GribFieldRecord> ReadFile(string path, Action<string>? warn = null)
    {
        var messages = GribFile.Read(path, warn);
        var list = new List<GribFieldRecord>();
        for (var m = 0; m < messages.Count; m++)
            foreach (var field in messages[m].Fields)
                list.Add(FromField(path, m + 1, field));
        return list;
    }

    /// <summary>
    /// Every field of a mapped file (<see cref="MappedGribFile"/>): the records are valid while
    /// <paramref name="file"/> is; decoding reads the data from the page cache, nothing is copied onto the heap.
    /// </summary>
    public static IReadOnlyList<GribFieldRecord> Of(MappedGribFile file)
    {
        var list = new List<GribFieldRecord>();
        for (var m = 0; m < file.Messages.Count; m++)
            foreach (var field in file.Messages[m].Fields)
                list.Add(FromField(file.Path, m + 1, field));
        return list;
    }

    public static GribFieldRecord FromField(string path, int messageNumber, GribField field)
    {
        var entry = Inventory.Describe(field, messageNumber);
        var grid = GridDefinition.Parse(field.Section3.Span, field.Message.Offset);
        var product = ProductDefinition.ParseLenient(field.Section4.Span, field.Message.Offset);
        var raw = entry.CfVarName is { Length: > 0 } cf && cf != "unknown" ? cf : entry.ShortName;
        var name = new string([.. raw.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' ? c : '_')]);
        if (name.Length == 0 || name[0] == '.') name = "unknown";
        var time = new DateTimeOffset(DateTime.SpecifyKind(entry.ReferenceTime, DateTimeKind.Utc)).ToUnixTimeSeconds();
        var step = product.EndStepHours ?? product.StartStepHours ?? 0;
        var stepType = product.TypeOfStatisticalProcessing switch
        {
            null => "instant",
            0 => "avg",
            1 => "accum",
            2 => "max",
            3 => "min",
            4 => "diff",
            _ => "stat" + product.TypeOfStatisticalProcessing,
        };
        var gridKey = grid.GridType + ":" + Convert.ToHexString(SHA256.HashData(field.Section3.Span[5..]))[..16];
        return new GribFieldRecord(path, messageNumber, field, entry, grid, product, name, entry.TypeOfLevel ?? "unknown",
            entry.Level ?? 0, time, step, stepType, product.PerturbationNumber, gridKey);
    }

    /// <summary>
    /// The field's values as float32 as cfgrib gives them: ecCodes order, missing points (bitmap, or ecCodes' 9999) as
    /// NaN, odd rows reversed on grids that scan alternate rows in opposite directions.
    /// </summary>
    public float[] DecodeFloat32()
    {
        var result = GC.AllocateUninitializedArray<float>(Field.NumberOfDataPoints);
        DecodeFloat32(result);
        return result;
    }

    /// <summary>As <see cref="DecodeFloat32()"/> into <paramref name="destination"/> (exactly the field's points), with pooled scratch.</summary>
    public void DecodeFloat32(Span<float> destination)
    {
        if (destination.Length != Field.NumberOfDataPoints)
            throw new ArgumentException($"destination holds {destination.Length} values, the field has {Field.NumberOfDataPoints} points", nameof(destination));
        var scratch = FieldBuffers.Rent<double>(destination.Length);
        try
        {
            var values = scratch.AsSpan(0, destination.Length);
            Field.DecodeValues(values);
            ToFloat32(values, destination);
            ReverseAlternateRows(destination);
        }
        finally
        {
            FieldBuffers.Return(scratch);
        }
    }

    /// <summary>
    /// As <see cref="DecodeFloat32(Span{float})"/>, without a second buffer: decodes into <paramref name="scratch"/>
    /// (exactly the field's points) and narrows in place, returning the float32 values, which occupy the first half of
    /// the same memory. For a 24.5 M-point radar mosaic that is 98 MB of fresh pages a process does not touch.
    /// </summary>
    public Span<float> DecodeFloat32InPlace(Span<double> scratch)
    {
        if (scratch.Length != Field.NumberOfDataPoints)
            throw new ArgumentException($"scratch holds {scratch.Length} values, the field has {Field.NumberOfDataPoints} points", nameof(scratch));
        var destination = System.Runtime.InteropServices.MemoryMarshal.Cast<double, float>(scratch)[..scratch.Length];
        if (!Field.TryDecodeFloat32(destination))
        {
            Field.DecodeValues(scratch);
            // Ascending, float i (bytes 4i..4i+3) lands on bytes already read (double i starts at 8i): safe in place.
            ToFloat32(scratch, destination);
        }
        ReverseAlternateRows(destination);
        return destination;
    }

    // Boustrophedonic grids (scanning flag bit 4): ecCodes gives the values in stored order but the coordinates in
    // plain row order; cfgrib reverses every odd row so that values line up with latitude/longitude.
    private void ReverseAlternateRows(Span<float> destination)
    {
        if (Layout is not (GridLayout.Regular or GridLayout.Projected) || !Grid.Scanning.AlternativeRowScanning) return;
        var nx = (int)Grid.Nx;
        for (var row = 1; (row + 1) * (long)nx <= destination.Length; row += 2) destination.Slice(row * nx, nx).Reverse();
    }

    // Also in place (result overlapping the start of values): each double is read before its float is written; eight
    // at a time, the floats written (bytes 4i..4i+31) lie below the next doubles to read (from byte 8i+64).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void ToFloat32(ReadOnlySpan<double> values, Span<float> result)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var missing = Vector256.Create(9999.0);
            var nan = Vector256.Create(float.NaN);
            for (; i <= values.Length - 8; i += 8)
            {
                var lo = Vector256.Create(values.Slice(i, 4));
                var hi = Vector256.Create(values.Slice(i + 4, 4));
                // The 9999 test is on the doubles (a double that only rounds to 9999f is a value, not missing).
                var isMissing = Vector256.Narrow(
                    Vector256.Equals(lo, missing).AsInt64(), Vector256.Equals(hi, missing).AsInt64()).AsSingle();
                Vector256.ConditionalSelect(isMissing, nan, Vector256.Narrow(lo, hi)).CopyTo(result.Slice(i, 8));
            }
        }
        for (; i < values.Length; i++)
        {
            var v = values[i];
            result[i] = v == 9999 ? float.NaN : (float)v;
        }
    }
}
