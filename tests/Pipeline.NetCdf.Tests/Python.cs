using System.Diagnostics;
using System.Text.Json;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>Runs the fixture and oracle scripts of tests/tools with Debian's python3 (netCDF4, xarray, zarr, fsspec).</summary>
internal static class Python
{
    public static string Tool(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tests", "tools", name);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"tests/tools/{name} not found above {AppContext.BaseDirectory}");
    }

    public static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(TestServices.Python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Tool(script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(true);
            Assert.Fail($"{script} did not finish in 5 minutes");
        }
        Assert.True(p.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({p.ExitCode}): {stdout} {stderr.Result}");
        return stdout;
    }

    /// <summary>The oracle's verdict: xarray over our references against netCDF4 over the originals.</summary>
    public static OracleResult Oracle(string refs, IEnumerable<string> originals, string? concat = null, IEnumerable<string>? skip = null)
    {
        var args = new List<string> { refs };
        args.AddRange(originals);
        if (concat is not null) args.AddRange(["--concat", concat]);
        if (skip is not null && skip.Any()) args.AddRange(["--skip", string.Join(',', skip)]);
        var output = Run("netcdf_oracle.py", [.. args]);
        var last = output.Trim().Split('\n')[^1];
        using var doc = JsonDocument.Parse(last);
        var root = doc.RootElement;
        return new OracleResult(
            root.GetProperty("ok").GetBoolean(),
            [.. root.GetProperty("checked").EnumerateArray().Select(x => x.GetString()!)],
            [.. root.GetProperty("problems").EnumerateArray().Select(x => x.GetString()!)],
            last);
    }
}

internal sealed record OracleResult(bool Ok, IReadOnlyList<string> Checked, IReadOnlyList<string> Problems, string Raw);

/// <summary>The fixtures of tests/tools/netcdf_fixture.py, written once per test class into a temporary directory.</summary>
public sealed class NetCdfFixtures : IDisposable
{
    private readonly Lazy<string> _dir;

    public NetCdfFixtures()
    {
        _dir = new Lazy<string>(() =>
        {
            var dir = Path.Combine(Path.GetTempPath(), $"netcdf-fixtures-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Python.Run("netcdf_fixture.py", dir);
            return dir;
        });
    }

    /// <summary>The fixture directory (made on first use, so skipped tests cost nothing).</summary>
    public string Dir => _dir.Value;

    public string this[string name] => Path.Combine(Dir, name);

    /// <summary>A fresh scratch directory under the fixture directory.</summary>
    public string Scratch()
    {
        var d = Path.Combine(Dir, "scratch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    public void Dispose()
    {
        if (_dir.IsValueCreated && Directory.Exists(_dir.Value)) Directory.Delete(_dir.Value, true);
    }
}
