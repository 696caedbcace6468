using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Pipeline.Grib2;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests;

/// <summary>
/// <c>pipeline grib values</c> on messages that repeat sections 2-7: one msgNNN.f64 per field, numbered as ecCodes
/// lists them with multi-field support on.
/// </summary>
public sealed class GribValuesMultiFieldSpecs : IDisposable
{
    // JMA: one message holding 16 fields (sections 4-7 repeated), simple packing.
    private const string MultiField = "gribrs__Z__C_RJTD_20170221120000_MSG_GPV_Gll0p5deg_Pys_B20170221120000_F2017022115-2017022212_grib2.bin";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"grib-multi-cmd-{Guid.NewGuid():N}");

    public GribValuesMultiFieldSpecs() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await PipelineCommand.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    private static double[] ReadDoubles(string path) => MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(path)).ToArray();

    [SharedDataFact]
    public async Task Should_write_one_file_per_field_when_a_message_repeats_sections_2_to_7()
    {
        var path = SharedData.Data("grib2", "real", MultiField);
        var fields = GribFile.Read(path).SelectMany(m => m.Fields).ToList();
        Assert.Single(GribFile.Read(path));
        Assert.Equal(16, fields.Count);

        var (code, output, error) = await Run("grib", "values", path, "--out", _dir);

        Assert.True(code == 0, error);
        Assert.Contains("16 of 16 fields", output);
        Assert.Equal(16, Directory.GetFiles(_dir, "msg*.f64").Length);
        for (var k = 0; k < fields.Count; k++)
        {
            var written = ReadDoubles(Path.Combine(_dir, $"msg{k + 1:000}.f64"));
            Assert.Equal(fields[k].DecodeValues(), written);
        }
        // The fields differ (forecast steps of one parameter): a writer that repeated the first would fail here.
        Assert.NotEqual(ReadDoubles(Path.Combine(_dir, "msg001.f64")), ReadDoubles(Path.Combine(_dir, "msg016.f64")));
    }

    [ServiceFact(Service.Python)]
    public async Task Should_match_ecCodes_multi_field_listing_value_for_value_when_writing_values()
    {
        var path = SharedData.Data("grib2", "real", MultiField);
        var ecDir = Path.Combine(_dir, "eccodes");
        Directory.CreateDirectory(ecDir);
        var script = string.Join(Environment.NewLine,
            "import sys, eccodes",
            "eccodes.codes_grib_multi_support_on()",
            "n = 0",
            "with open(sys.argv[1], 'rb') as f:",
            "    while True:",
            "        h = eccodes.codes_grib_new_from_file(f)",
            "        if h is None: break",
            "        n += 1",
            "        eccodes.codes_get_values(h).astype('<f8').tofile(f'{sys.argv[2]}/msg{n:03d}.f64')",
            "        eccodes.codes_release(h)");
        var psi = new ProcessStartInfo(TestServices.Python) { RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(path);
        psi.ArgumentList.Add(ecDir);
        using (var p = Process.Start(psi)!)
        {
            var err = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, err);
        }
        var oursDir = Path.Combine(_dir, "ours");

        var (code, _, error) = await Run("grib", "values", path, "--out", oursDir);

        Assert.True(code == 0, error);
        var ecFiles = Directory.GetFiles(ecDir, "msg*.f64").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var ourFiles = Directory.GetFiles(oursDir, "msg*.f64").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(16, ecFiles.Count);
        Assert.Equal(ecFiles, ourFiles);
        foreach (var name in ecFiles)
        {
            var ec = ReadDoubles(Path.Combine(ecDir, name!));
            var ours = ReadDoubles(Path.Combine(oursDir, name!));
            Assert.Equal(ec.Length, ours.Length);
            // ecCodes writes its missingValue (9999) where we write NaN; every other value is bit-identical.
            var differing = Enumerable.Range(0, ec.Length).Count(i => ec[i] == 9999 ? !double.IsNaN(ours[i]) : ec[i] != ours[i]);
            Assert.True(differing == 0, $"{name}: {differing} of {ec.Length} values differ from ecCodes");
        }
    }
}
