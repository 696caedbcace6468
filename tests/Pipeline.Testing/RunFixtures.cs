using Xunit;

namespace Pipeline.Testing;

/// <summary>Model-run fixtures made by ecCodes (tests/tools/run_fixture.py) and the Python oracles the ingest specs use.</summary>
public static class RunFixtures
{
    /// <summary>Writes model.tRRz.fSSS.grib2 for every step (5 fields each) and manifest.json with ecCodes' decode into <paramref name="dir"/>.</summary>
    public static Task RunAsync(string dir, string date, int run, IEnumerable<int> steps) =>
        PythonAsync(Path.Combine(RepositoryRoot(), "tests", "tools", "run_fixture.py"), dir, "--date", date, "--run", run.ToString(),
            "--steps", string.Join(',', steps));

    /// <summary>Validates every message against the official WNM JSON schema with python3-jsonschema.</summary>
    public static async Task ValidateAgainstSchemaAsync(IEnumerable<string> messages, string schema)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(file, messages.Select(m => m.Replace('\n', ' ')));
            var output = await PythonAsync("-c", """
                import json, sys, jsonschema
                schema = json.load(open(sys.argv[1]))
                n = 0
                for line in open(sys.argv[2]):
                    if line.strip():
                        jsonschema.validate(json.loads(line), schema)
                        n += 1
                print(n)
                """, schema, file);
            Assert.True(int.Parse(output.Trim()) > 0);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public static async Task<string> PythonAsync(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(TestServices.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(p.ExitCode == 0, $"python {args[0]} failed: {await stderr}");
        return await stdout;
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PipelineCluster.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("PipelineCluster.sln not found above " + AppContext.BaseDirectory);
    }
}
