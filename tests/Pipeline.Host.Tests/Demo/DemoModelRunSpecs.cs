using System.Runtime.InteropServices;
using System.Text.Json;
using Pipeline.Grib2;
using Pipeline.Grib2.Indexing;
using Pipeline.Host.Demo;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Demo;

public sealed class DemoModelRunSpecs : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("demo-run-");

    public void Dispose() => _dir.Delete(true);

    private static readonly string[] ExpectedNames = ["2t", "10u", "10v", "prmsl", "tp", "t", "t", "t", "gh", "gh", "gh"];

    [Fact]
    public void Should_write_one_file_per_step_holding_every_variable_when_a_run_is_generated()
    {
        var run = DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Resolution = 5 });
        Assert.Equal(Enumerable.Range(0, 9).Select(k => k * 6), run.Files.Select(f => f.ForecastHour));
        Assert.Equal("20260115/00/demo.t00z.pgrb2.5p00.f006", run.Files[1].RelPath);
        Assert.Equal(new DateTime(2026, 1, 15, 0, 0, 0, DateTimeKind.Utc), run.RunTime);
        foreach (var f in run.Files)
        {
            Assert.Equal(Path.Combine(_dir.FullName, "20260115", "00", Path.GetFileName(f.RelPath)), f.FullPath);
            Assert.Equal(new FileInfo(f.FullPath).Length, f.Size);
            Assert.Equal(DemoModelRun.Sha512Of(f.FullPath), f.Sha512);
            Assert.Equal(64, Convert.FromBase64String(f.Sha512).Length);
            var messages = GribFile.Read(f.FullPath);
            var inventory = Inventory.Build(messages);
            Assert.Equal(ExpectedNames, inventory.Select(e => e.ShortName));
            Assert.Equal(11, f.FieldCount);
            Assert.Equal(11L * 72 * 37, f.ValueCount);
            Assert.All(inventory.Where(e => e.ShortName != "tp"), e => Assert.Equal(f.ForecastHour.ToString(), e.StepRange));
            Assert.Equal(f.ForecastHour == 0 ? "0" : $"0-{f.ForecastHour}", inventory.Single(e => e.ShortName == "tp").StepRange);
            Assert.Equal([850.0, 500, 250], inventory.Where(e => e.ShortName == "t").Select(e => e.Level!.Value));
            Assert.All(messages, m => Assert.All(m.Fields[0].DecodeValues(), v => Assert.False(double.IsNaN(v))));
        }
        Assert.Equal(run.Files.Sum(f => f.ValueCount), run.TotalValues);
    }

    [Fact]
    public void Should_make_plausible_weather_when_a_run_is_generated()
    {
        var run = DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Resolution = 2.5, Seed = 7 });
        double[]? previousTp = null;
        foreach (var f in run.Files)
        {
            var fields = GribFile.Read(f.FullPath).Select(m => m.Fields[0].DecodeValues()).ToList();
            double[] t2 = fields[0], u = fields[1], v = fields[2], msl = fields[3], tp = fields[4];
            double[] t850 = fields[5], t500 = fields[6], t250 = fields[7], z850 = fields[8], z500 = fields[9], z250 = fields[10];
            Assert.InRange(t2.Min(), 215, 260);
            Assert.InRange(t2.Max(), 295, 320);
            Assert.InRange(msl.Min(), 94000, 99500);
            Assert.InRange(msl.Max(), 101500, 105000);
            var speed = u.Zip(v, (a, b) => Math.Sqrt(a * a + b * b)).ToArray();
            Assert.InRange(speed.Max(), 8, 45);
            Assert.InRange(speed.Average(), 2, 15);
            Assert.InRange(z500.Average(), 5000, 5900);
            for (var i = 0; i < t2.Length; i++)
            {
                Assert.True(t850[i] > t500[i] && t500[i] > t250[i], $"point {i}: temperature does not fall with height ({t850[i]}, {t500[i]}, {t250[i]})");
                Assert.True(z850[i] < z500[i] && z500[i] < z250[i], $"point {i}: height does not rise as pressure falls");
                Assert.True(tp[i] >= 0, $"point {i}: negative precipitation {tp[i]}");
                if (previousTp is not null) Assert.True(tp[i] >= previousTp[i] - 1e-9, $"point {i}: accumulated precipitation fell from {previousTp[i]} to {tp[i]}");
            }
            if (f.ForecastHour == 0) Assert.All(tp, x => Assert.Equal(0, x));
            else Assert.InRange(tp.Max(), 0.5 * f.ForecastHour / 6, 4 * f.ForecastHour);
            previousTp = tp;
        }
    }

    [Fact]
    public void Should_write_the_same_bytes_when_the_seed_is_the_same()
    {
        var options = new DemoModelRunOptions { Resolution = 10, LastStep = 12, Seed = 3 };
        var a = DemoModelRun.Generate(Path.Combine(_dir.FullName, "a"), options);
        var b = DemoModelRun.Generate(Path.Combine(_dir.FullName, "b"), options);
        var c = DemoModelRun.Generate(Path.Combine(_dir.FullName, "c"), options with { Seed = 4 });
        Assert.Equal(a.Files.Select(f => f.Sha512), b.Files.Select(f => f.Sha512));
        Assert.NotEqual(a.Files[1].Sha512, c.Files[1].Sha512);
        Assert.Equal(3, a.Files.Count);
    }

    [Fact]
    public void Should_keep_files_under_a_megabyte_when_the_default_one_degree_grid_is_used()
    {
        var run = DemoModelRun.Generate(_dir.FullName);
        Assert.Equal((360, 181), (run.Grid.Ni, run.Grid.Nj));
        Assert.Equal(9, run.Files.Count);
        Assert.Equal("20260115/00/demo.t00z.pgrb2.1p00.f048", run.Files[^1].RelPath);
        Assert.All(run.Files, f => Assert.InRange(f.Size, 200_000, 1_000_000));
    }

    [Fact]
    public void Should_refuse_options_that_make_no_run_with_a_message_that_names_them()
    {
        Assert.Contains("whole minute", Assert.Throws<ArgumentException>(() =>
            DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { RunTime = new DateTime(2026, 1, 15, 0, 30, 15, DateTimeKind.Utc) })).Message);
        Assert.Contains("step interval", Assert.Throws<ArgumentException>(() =>
            DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { StepInterval = 0 })).Message);
        Assert.Contains("pressure levels", Assert.Throws<ArgumentException>(() =>
            DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { PressureLevels = [0] })).Message);
        Assert.Contains("plain word", Assert.Throws<ArgumentException>(() =>
            DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Model = "../x" })).Message);
        Assert.ThrowsAny<ArgumentException>(() => DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Resolution = 0.7 }));
    }

    [ServiceFact(Service.Python)]
    public void Should_decode_to_the_same_values_in_ecCodes_when_a_run_is_generated()
    {
        var run = DemoModelRun.Generate(_dir.FullName, new DemoModelRunOptions { Resolution = 2.5, LastStep = 12 });
        var file = run.Files[^1];
        const string script = """
            import json, sys
            import numpy as np
            import eccodes, cfgrib
            rows, arrays = [], []
            with open(sys.argv[1], 'rb') as f:
                while True:
                    h = eccodes.codes_grib_new_from_file(f)
                    if h is None:
                        break
                    rows.append({k: str(eccodes.codes_get(h, k, ktype=str)) for k in ['shortName', 'typeOfLevel', 'level', 'stepRange', 'dataDate', 'gridType', 'Ni', 'Nj']})
                    arrays.append(eccodes.codes_get_values(h).astype('<f8'))
                    eccodes.codes_release(h)
            np.concatenate(arrays).tofile(sys.argv[2])
            names = sorted(str(n) for ds in cfgrib.open_datasets(sys.argv[1], backend_kwargs={'indexpath': ''}) for n in ds.data_vars)
            print(json.dumps({'messages': rows, 'cfgrib': names}))
            """;
        var valuesPath = Path.Combine(_dir.FullName, "values.f64");
        using var doc = JsonDocument.Parse(PythonScript.Run(script, [file.FullPath, valuesPath]));
        var rows = doc.RootElement.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(ExpectedNames, rows.Select(r => r.GetProperty("shortName").GetString()));
        Assert.Equal(["2", "10", "10", "0", "0", "850", "500", "250", "850", "500", "250"], rows.Select(r => r.GetProperty("level").GetString()));
        Assert.Equal(["12", "12", "12", "12", "0-12", "12", "12", "12", "12", "12", "12"], rows.Select(r => r.GetProperty("stepRange").GetString()));
        Assert.All(rows, r => Assert.Equal(("20260115", "regular_ll", "144", "73"),
            (r.GetProperty("dataDate").GetString(), r.GetProperty("gridType").GetString(), r.GetProperty("Ni").GetString(), r.GetProperty("Nj").GetString())));
        Assert.Equal(["gh", "prmsl", "t", "t2m", "tp", "u10", "v10"], doc.RootElement.GetProperty("cfgrib").EnumerateArray().Select(e => e.GetString()));

        var theirs = MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(valuesPath)).ToArray();
        var ours = GribFile.Read(file.FullPath).SelectMany(m => m.Fields[0].DecodeValues()).ToArray();
        Assert.Equal(ours.Length, theirs.Length);
        for (var i = 0; i < ours.Length; i++)
            Assert.True(Math.Abs(ours[i] - theirs[i]) <= 1e-9 * Math.Max(1, Math.Abs(ours[i])), $"value {i}: ours {ours[i]}, ecCodes {theirs[i]}");
    }
}
