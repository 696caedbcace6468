using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Runs;

namespace Pipeline.Zarr.Tests.Runs;

/// <summary>A small cfgrib-shaped run: t2m and tp over (time, step, latitude, longitude), with valid_time.</summary>
public static class SampleRun
{
    public const int Ny = 5, Nx = 7;
    public static readonly double RefTime = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    public static readonly double[] Steps = [0, 3, 6, 9, 12, 15];

    public static RunLayout Layout(CodecPipeline? codecs = null, string group = "") => new(
        group,
        [
            new RunAxis("time", ZarrDataType.Int64, new JsonObject
            {
                ["long_name"] = "initial time of forecast", ["standard_name"] = "forecast_reference_time",
                ["units"] = "seconds since 1970-01-01T00:00:00", ["calendar"] = "proleptic_gregorian",
            }, Start: RefTime, Increment: 21600),
            new RunAxis("step", ZarrDataType.Float64, new JsonObject
            {
                ["long_name"] = "time since forecast_reference_time", ["standard_name"] = "forecast_period", ["units"] = "hours",
            }, Start: 0, Increment: 3),
        ],
        ["latitude", "longitude"],
        [Ny, Nx],
        [
            new RunVariable("t2m", ["time", "step"], new JsonObject { ["units"] = "K", ["long_name"] = "2 metre temperature", ["standard_name"] = "air_temperature", ["GRIB_paramId"] = 167, ["coordinates"] = "valid_time" }),
            new RunVariable("tp", ["time", "step"], new JsonObject { ["units"] = "m", ["long_name"] = "Total precipitation", ["GRIB_paramId"] = 228, ["coordinates"] = "valid_time" }),
        ],
        [
            new RunStaticArray("latitude", ["latitude"], ZarrDataType.Float64, new JsonObject { ["units"] = "degrees_north", ["standard_name"] = "latitude" },
                [.. Enumerable.Range(0, Ny).Select(i => 50.0 - i * 0.25)]),
            new RunStaticArray("longitude", ["longitude"], ZarrDataType.Float64, new JsonObject { ["units"] = "degrees_east", ["standard_name"] = "longitude" },
                [.. Enumerable.Range(0, Nx).Select(i => 10.0 + i * 0.25)]),
        ],
        [
            new RunDerivedArray("valid_time", ["time", "step"], ZarrDataType.Int64, new JsonObject
            {
                ["standard_name"] = "time", ["long_name"] = "time", ["units"] = "seconds since 1970-01-01T00:00:00", ["calendar"] = "proleptic_gregorian",
            }, v => v["time"] + v["step"] * 3600),
        ],
        new JsonObject { ["GRIB_centre"] = "cwao", ["Conventions"] = "CF-1.7", ["institution"] = "Canadian Meteorological Service - Montreal" },
        codecs ?? CodecPipeline.Zstd());

    /// <summary>The values of one field: a deterministic pattern with a few NaNs (missing points).</summary>
    public static float[] Values(string variable, double step)
    {
        var v = new float[Ny * Nx];
        for (var i = 0; i < v.Length; i++) v[i] = (variable == "t2m" ? 270f : 0f) + (float)step * 0.5f + i * 0.125f;
        if (variable == "tp") v[(int)step % v.Length] = float.NaN;
        return v;
    }
}
