using System.Diagnostics;
using Xunit;

namespace Pipeline.Testing;

/// <summary>Runs a Python script text with <see cref="TestServices.Python"/> (Debian's python3 with ecCodes and cfgrib).</summary>
public static class PythonScript
{
    /// <summary>
    /// Runs <paramref name="script"/> (passed with <c>-c</c>) with <paramref name="args"/> and returns its standard
    /// output; a non-zero exit or a run longer than <paramref name="timeout"/> (default 3 minutes) fails the test
    /// with standard error.
    /// </summary>
    public static string Run(string script, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(TestServices.Python)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            p.Kill(true);
            Assert.Fail($"the Python script did not finish in {timeout ?? TimeSpan.FromMinutes(3)}: {stderr.Result}");
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"the Python script failed ({p.ExitCode}): {stdout.Result} {stderr.Result}");
        return stdout.Result;
    }
}
