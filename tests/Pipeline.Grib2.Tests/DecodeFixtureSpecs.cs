using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// Fixtures encoded by ecCodes through tests/tools/grib2_fixture.py (every packing, with and without a bitmap, two
/// grids), decoded by us and compared with what ecCodes decodes from the same bytes.
/// </summary>
public sealed class DecodeFixtureSpecs
{
    [ServiceFact(Service.Python)]
    public void Should_match_ecCodes_when_decoding_fixtures_of_every_packing()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"grib2-fixtures-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            RunFixtureScript(dir);
            using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "manifest.json")));
            var fixtures = manifest.RootElement.GetProperty("fixtures").EnumerateArray().ToList();
            Assert.True(fixtures.Count >= 40, $"only {fixtures.Count} fixtures were written");
            var templates = new HashSet<int>();
            var failures = new List<string>();
            var floatPaths = 0;
            foreach (var fx in fixtures)
            {
                var name = fx.GetProperty("name").GetString()!;
                var messages = GribFile.Read(Path.Combine(dir, fx.GetProperty("grib").GetString()!));
                var field = Assert.Single(Assert.Single(messages).Fields);
                templates.Add(field.DataRepresentationTemplateNumber);
                Assert.Equal(fx.GetProperty("bitmapPresent").GetInt32() == 1, field.BitmapPresent);
                var expected = MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(Path.Combine(dir, fx.GetProperty("values").GetString()!))).ToArray();
                var ours = field.DecodeValues();
                if (expected.Length != ours.Length)
                {
                    failures.Add($"{name}: {ours.Length} values, ecCodes {expected.Length}");
                    continue;
                }
                var present = expected.Where(v => v != 9999).DefaultIfEmpty(0).ToArray();
                var tol = Math.Max(1e-6 * (present.Max() - present.Min()), 1e-9 * Math.Abs(present.Max()));
                var bad = 0;
                for (var i = 0; i < ours.Length; i++)
                {
                    if (expected[i] == 9999) { if (!double.IsNaN(ours[i])) bad++; }
                    else if (!(Math.Abs(ours[i] - expected[i]) <= tol)) bad++;
                }
                if (bad > 0) failures.Add($"{name} (5.{field.DataRepresentationTemplateNumber}): {bad} points differ");
                // Where a packing decodes straight to float32, the floats are exactly the narrowed doubles.
                var floats = new float[ours.Length];
                if (field.TryDecodeFloat32(floats))
                {
                    floatPaths++;
                    var differ = Enumerable.Range(0, ours.Length).Count(i => !(ours[i] == 9999 ? float.NaN : (float)ours[i]).Equals(floats[i]));
                    if (differ > 0) failures.Add($"{name} (5.{field.DataRepresentationTemplateNumber}): {differ} float32 values differ from the narrowed doubles");
                }
            }
            Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
            Assert.True(floatPaths > 0, "no fixture took the float32 path (PNG without a bitmap)");
            Assert.Superset(new HashSet<int> { 0, 2, 3, 4, 40, 41, 42, 61 }, templates);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    internal static void RunFixtureScript(string dir)
    {
        var script = Path.Combine(RepositoryRoot(), "tests", "tools", "grib2_fixture.py");
        var psi = new ProcessStartInfo(TestServices.Python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dir);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(true);
            Assert.Fail("grib2_fixture.py did not finish in 5 minutes");
        }
        Assert.True(p.ExitCode == 0, $"grib2_fixture.py failed ({p.ExitCode}): {stdout} {stderr.Result}");
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "tools", "grib2_fixture.py"))) return dir.FullName;
        throw new DirectoryNotFoundException($"tests/tools/grib2_fixture.py not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>The float32 path on the largest PNG field of the corpus (MRMS 1 km mosaic, 24.5 M points).</summary>
public sealed class DecodeFloat32Specs
{
    [SharedDataFact]
    public void Should_give_the_narrowed_doubles_when_decoding_the_MRMS_mosaic_straight_to_float32()
    {
        var field = Assert.Single(Assert.Single(GribFile.Read(GridTestSupport.Corpus("gribberish__MRMS_MergedReflectivityQCComposite_00.50_20220704-110040.grib2"))).Fields);
        var doubles = field.DecodeValues();
        var floats = new float[doubles.Length];
        Assert.True(field.TryDecodeFloat32(floats), "the PNG field without a bitmap has a float32 path");
        var differ = 0;
        for (var i = 0; i < doubles.Length; i++)
            if (!(doubles[i] == 9999 ? float.NaN : (float)doubles[i]).Equals(floats[i])) differ++;
        Assert.Equal(0, differ);
        Assert.Throws<ArgumentException>(() => field.TryDecodeFloat32(new float[10]));
    }
}
