using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests;

public sealed class GribCommandsSpecs : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"grib-cmd-{Guid.NewGuid():N}");

    public GribCommandsSpecs() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Corpus(string file) => SharedData.Data("grib2", "real", file);

    private static JsonElement Expected(string file, int message) =>
        JsonDocument.Parse(File.ReadAllText(SharedData.Data("grib2", "expected", file, $"msg{message:000}.json"))).RootElement;

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await PipelineCommand.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    private const string Gfs = "pygrib__gfs.t12z.pgrbf120.2p5deg.grib2";

    [SharedDataFact]
    public async Task Should_print_one_json_object_per_field_when_asked_for_a_json_inventory()
    {
        var (code, output, _) = await Run("grib", "inventory", Corpus(Gfs), "--json");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var objects = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var messages = objects.Where(o => !o.TryGetProperty("field", out _)).ToList();
        Assert.Equal(307, messages.Count);
        var first = messages[0];
        var exp = Expected(Gfs, 1);
        Assert.Equal(1, first.GetProperty("message").GetInt32());
        Assert.Equal(exp.GetProperty("shortName").GetString(), first.GetProperty("shortName").GetString());
        Assert.Equal(exp.GetProperty("typeOfLevel").GetString(), first.GetProperty("typeOfLevel").GetString());
        Assert.Equal(exp.GetProperty("level").GetInt64(), first.GetProperty("level").GetInt64());
        Assert.Equal(120, first.GetProperty("forecastTime").GetInt64());
        Assert.Equal("2011-01-10T12:00:00Z", first.GetProperty("referenceTime").GetString());
        var last = messages[^1];
        Assert.Equal(Expected(Gfs, 307).GetProperty("offset").GetInt64(), last.GetProperty("offset").GetInt64());
    }

    [SharedDataFact]
    public async Task Should_print_text_lines_when_no_json_is_asked()
    {
        var (code, output, _) = await Run("grib", "inventory", Corpus(Gfs));
        Assert.Equal(0, code);
        Assert.StartsWith("1:0:d=2011011012:gh:isobaricInhPa:10:120:HGT:10 mb:120 hour fcst:", output);
    }

    [SharedDataFact]
    public async Task Should_write_ecCodes_values_per_message_when_dumping_values()
    {
        const string file = "gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2";
        var (code, output, error) = await Run("grib", "values", Corpus(file), "--out", _dir);
        Assert.True(code == 0, error);
        Assert.Contains("1 of 1", output);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_dir, "msg001.f64"));
        var exp = Expected(file, 1);
        Assert.Equal(exp.GetProperty("numberOfDataPoints").GetInt64() * 8, bytes.LongLength);
        Assert.Equal(exp.GetProperty("sha256_f64le").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [SharedDataFact]
    public async Task Should_write_latitudes_then_longitudes_when_asked_for_coordinates()
    {
        const string file = "gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2";
        var path = Path.Combine(_dir, "ll.f64");
        var (code, _, error) = await Run("grib", "latlon", Corpus(file), "--message", "1", "--out", path);
        Assert.True(code == 0, error);
        var raw = await File.ReadAllBytesAsync(path);
        var exp = Expected(file, 1);
        var n = exp.GetProperty("n_latlon").GetInt32();
        Assert.Equal(16L * n, raw.LongLength);
        var d = new double[2 * n];
        Buffer.BlockCopy(raw, 0, d, 0, raw.Length);
        var first = exp.GetProperty("first_latlon");
        var last = exp.GetProperty("last_latlon");
        Assert.Equal(first[0].GetDouble(), d[0], 6);
        Assert.Equal(first[1].GetDouble(), d[n], 6);
        Assert.Equal(last[0].GetDouble(), d[n - 1], 6);
        Assert.Equal(last[1].GetDouble(), d[2 * n - 1], 6);
    }

    [SharedDataFact]
    public async Task Should_refuse_a_message_number_out_of_range_when_asked_for_coordinates()
    {
        var (code, _, error) = await Run("grib", "latlon", Corpus(Gfs), "--message", "999", "--out", Path.Combine(_dir, "x"));
        Assert.NotEqual(0, code);
        Assert.Contains("307 messages", error);
    }

    [SharedDataFact]
    public async Task Should_write_a_wgrib2_idx_beside_the_file_when_indexing()
    {
        var copy = Path.Combine(_dir, "gfs.grib2");
        File.Copy(Corpus(Gfs), copy);
        var (code, _, error) = await Run("grib", "idx", copy);
        Assert.True(code == 0, error);
        var lines = await File.ReadAllLinesAsync(copy + ".idx");
        Assert.Equal("1:0:d=2011011012:HGT:10 mb:120 hour fcst:", lines[0]);
        Assert.Matches(@"^4\.2:\d+:d=2011011012:VGRD:10 mb:120 hour fcst:$", lines[4]);
    }

    [SharedDataFact]
    public async Task Should_report_rates_per_packing_and_a_total_line_when_benchmarking()
    {
        var (code, output, error) = await Run("grib", "bench", Corpus(Gfs), Corpus("gribrs__CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"), "--repeat", "1");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("5.3 ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("5.40 ", StringComparison.Ordinal));
        Assert.Matches(@"^total \d+\.\d\d$", lines[^1]);
    }

    [Fact]
    public async Task Should_say_which_file_is_missing_when_the_file_does_not_exist()
    {
        var missing = Path.Combine(_dir, "nope.grib2");
        var (code, _, error) = await Run("grib", "inventory", missing);
        Assert.Equal(1, code);
        Assert.Contains("nope.grib2", error);
    }

    [Fact]
    public async Task Should_name_offset_and_section_when_the_file_is_truncated()
    {
        // A GRIB2 indicator that promises 1000 bytes, then stops.
        var path = Path.Combine(_dir, "cut.grib2");
        var bytes = new byte[64];
        "GRIB"u8.CopyTo(bytes);
        bytes[7] = 2;
        bytes[15] = 0xE8;
        bytes[14] = 0x03;
        await File.WriteAllBytesAsync(path, bytes);
        var (code, output, error) = await Run("grib", "inventory", path);
        Assert.True(code != 0 || error.Contains("offset 0", StringComparison.Ordinal), $"code {code}, out '{output}', err '{error}'");
        Assert.Contains("offset 0", error);
    }
}
