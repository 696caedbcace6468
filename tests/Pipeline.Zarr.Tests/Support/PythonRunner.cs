using System.Diagnostics;
using System.Text.Json.Nodes;
using Pipeline.Testing;

namespace Pipeline.Zarr.Tests.Support;

/// <summary>Runs a script with Debian's python3 (xarray, zarr 2.13, fsspec, eccodes, cfgrib) and parses its JSON output.</summary>
public static class PythonRunner
{
    public static async Task<JsonNode> RunJsonAsync(string script, params string[] args)
    {
        var output = await RunAsync(script, args);
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()
                   ?? throw new InvalidOperationException("python printed nothing");
        return JsonNode.Parse(last) ?? throw new InvalidOperationException("python printed null");
    }

    public static async Task<string> RunAsync(string script, params string[] args)
    {
        var file = Path.Combine(Path.GetTempPath(), $"zarr-test-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(file, script);
        try
        {
            var psi = new ProcessStartInfo(TestServices.Python)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            psi.ArgumentList.Add(file);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["PYTHONWARNINGS"] = "ignore";
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await p.WaitForExitAsync(cts.Token);
            var o = await stdout;
            var e = await stderr;
            if (p.ExitCode != 0) throw new InvalidOperationException($"python exited {p.ExitCode}:\n{e}\n{o}");
            return o;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
