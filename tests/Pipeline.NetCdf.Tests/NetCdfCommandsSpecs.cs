using Pipeline.Host;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary><c>pipeline netcdf refs|inspect</c> and <c>pipeline zarr convert</c> on NetCDF, run in-process.</summary>
public sealed class NetCdfCommandsSpecs(NetCdfFixtures fx) : IClassFixture<NetCdfFixtures>
{
    [ServiceFact(Service.Python)]
    public async Task Should_write_the_run_combined_along_its_unlimited_dimension_when_given_several_files()
    {
        var output = Path.Combine(fx.Scratch(), "run.json");
        var files = new[] { fx["roms_2.nc"], fx["roms_0.nc"], fx["roms_1.nc"] };
        var (code, stdout, stderr) = await CommandRunner.RunAsync(PipelineCommand.Build(), ["netcdf", "refs", .. files, "--out", output]);
        Assert.True(code == 0, stderr);
        Assert.Contains("combined along 'ocean_time'", stdout, StringComparison.Ordinal);
        var oracle = Python.Oracle(output, files, concat: "ocean_time");
        Assert.True(oracle.Ok, oracle.Raw);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_exit_1_naming_the_bad_file_and_still_write_the_good_one_when_a_nc_file_is_not_netcdf()
    {
        var scratch = fx.Scratch();
        var bogus = Path.Combine(scratch, "bogus.nc");
        await File.WriteAllTextAsync(bogus, "<html>not found</html>");
        var output = Path.Combine(scratch, "one.json");
        var (code, _, stderr) = await CommandRunner.RunAsync(PipelineCommand.Build(), "netcdf", "refs", fx["classic.nc"], bogus, "--out", output, "--combine", "time");
        Assert.Equal(1, code);
        Assert.Contains($"error: {bogus}: not a NetCDF file", stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(output));
    }

    [ServiceFact(Service.Python)]
    public async Task Should_warn_per_variable_when_a_filter_is_unsupported()
    {
        var output = Path.Combine(fx.Scratch(), "filters.json");
        var (code, stdout, stderr) = await CommandRunner.RunAsync(PipelineCommand.Build(), "netcdf", "refs", fx["filters.h5nc"], "--out", output);
        Assert.Equal(0, code);
        Assert.Contains($"warning: {fx["filters.h5nc"]}: variable 'szipped': the szip filter", stderr, StringComparison.Ordinal);
        Assert.Contains("2 failed", stdout, StringComparison.Ordinal);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_print_dimensions_chunks_and_filters_when_inspecting()
    {
        var (code, stdout, _) = await CommandRunner.RunAsync(PipelineCommand.Build(), "netcdf", "inspect", fx["roms_0.nc"]);
        Assert.Equal(0, code);
        Assert.Contains("ocean_time = UNLIMITED ; // (1 currently)", stdout, StringComparison.Ordinal);
        Assert.Contains("float temp(ocean_time, s_rho, eta_rho, xi_rho) ;", stdout, StringComparison.Ordinal);
        Assert.Contains("chunks (1, 2, 20, 17), 12 stored, filters: shuffle | deflate", stdout, StringComparison.Ordinal);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_write_a_zarr_store_xarray_reads_equal_to_netCDF4_when_zarr_convert_gets_netcdf()
    {
        var dir = fx.Scratch();
        var files = new[] { fx["fvcom_1.nc"], fx["fvcom_0.nc"], fx["fvcom_2.nc"] };
        var (code, stdout, stderr) = await CommandRunner.RunAsync(PipelineCommand.Build(), ["zarr", "convert", .. files, "--out", dir]);
        Assert.True(code == 0, stderr);
        Assert.Contains("3 NetCDF files along 'time'", stdout, StringComparison.Ordinal);
        var oracle = Python.Oracle(dir, files, concat: "time");
        Assert.True(oracle.Ok, oracle.Raw);
    }

    [ServiceFact(Service.Python)]
    public async Task Should_refuse_zarr_v3_when_converting_netcdf()
    {
        var (code, _, stderr) = await CommandRunner.RunAsync(PipelineCommand.Build(), "zarr", "convert", fx["classic.nc"], "--out", fx.Scratch(), "--format", "v3");
        Assert.Equal(1, code);
        Assert.Contains("Zarr v2", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_say_which_file_is_missing_when_inspecting_a_missing_file()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.nc");
        var (code, _, stderr) = await CommandRunner.RunAsync(PipelineCommand.Build(), "netcdf", "inspect", missing);
        Assert.Equal(1, code);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
    }
}
