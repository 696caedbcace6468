using System.Text.RegularExpressions;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Demo;

/// <summary><c>pipeline demo</c> end to end, in process: no broker, no database, no shared data.</summary>
public sealed class DemoCommandSpecs
{
    [Fact]
    public async Task Should_ingest_the_simulated_run_and_print_where_the_zarr_is_with_exit_code_0()
    {
        var dir = Directory.CreateTempSubdirectory("pipeline-demo-");
        try
        {
            var (exit, output, error) = await CommandRunner.RunAsync(PipelineCommand.Build(), "demo", "--dir", dir.FullName, "--port", "0",
                "--duration", "4", "--resolution", "2.5", "--timeout", "300");
            Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
            Assert.Matches(@"files\s+9 indexed, 0 failed \(1 duplicate announcement ignored\)", output);
            Assert.Matches(@"WIS2\s+10 notifications", output);
            var early = Regex.Match(output, @"early\s+(\d+) requests answered 404");
            Assert.True(early.Success && int.Parse(early.Groups[1].Value) >= 1, output);

            var zarr = Regex.Match(output, "xr.open_zarr\\(\"(?<path>[^\"]+)\", group=\"(?<group>[^\"]+)\"\\)");
            Assert.True(zarr.Success, output);
            var path = Path.GetFullPath(zarr.Groups["path"].Value);
            Assert.True(File.Exists(Path.Combine(path, ".zmetadata")), path);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "pipeline.db")), "the journal is under --dir");

            // The two printed lines of Python work as printed.
            if (TestServices.SkipReason([Service.Python]) is null)
            {
                var shape = await RunFixtures.PythonAsync("-c",
                    $"import xarray as xr\nds = xr.open_zarr(\"{zarr.Groups["path"].Value}\", group=\"{zarr.Groups["group"].Value}\")\nprint(dict(ds.sizes)['step'])");
                Assert.Equal("9", shape.Trim());
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
