using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using Pipeline.Testing;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// Test-local helpers for the grid, product and table specs: a tiny section walker (independent of the
/// library's scanner), the expected summaries and python3-eccodes dumps.
/// </summary>
internal static class GridTestSupport
{
    /// <summary>One field: the sections that apply to it (repeated sections carried over).</summary>
    internal sealed record TestField(int Message, long Offset, long Length, int Discipline, byte[] Section1, byte[] Section3, byte[] Section4);

    /// <summary>Every GRIB2 field in a file, the way ecCodes counts messages (one entry per message: its first field).</summary>
    public static List<TestField> Walk(byte[] data, bool firstFieldOnly = true)
    {
        var list = new List<TestField>();
        var msg = 0;
        long pos = 0;
        while (pos + 16 <= data.Length)
        {
            var idx = data.AsSpan((int)pos).IndexOf("GRIB"u8);
            if (idx < 0) break;
            pos += idx;
            var edition = data[pos + 7];
            if (edition != 2)
            {
                var len1 = (data[pos + 4] << 16) | (data[pos + 5] << 8) | data[pos + 6];
                pos += Math.Max(len1, 4);
                continue;
            }
            msg++;
            var total = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan((int)pos + 8));
            var discipline = data[pos + 6];
            var p = pos + 16;
            byte[] s1 = [], s3 = [], s4 = [];
            var fieldsHere = 0;
            while (p + 4 < pos + total)
            {
                if (data.AsSpan((int)p, 4).SequenceEqual("7777"u8)) break;
                var len = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan((int)p));
                var num = data[p + 4];
                var bytes = data.AsSpan((int)p, len).ToArray();
                switch (num)
                {
                    case 1: s1 = bytes; break;
                    case 3: s3 = bytes; break;
                    case 4: s4 = bytes; break;
                    case 7:
                        if (!firstFieldOnly || fieldsHere == 0) list.Add(new TestField(msg, pos, total, discipline, s1, s3, s4));
                        fieldsHere++;
                        break;
                }
                p += len;
            }
            pos += total;
        }
        return list;
    }

    public static JsonElement Expected(string file, int message)
    {
        var path = SharedData.Data("grib2", "expected", file, $"msg{message:000}.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    public static IEnumerable<object[]> CorpusFiles() =>
        SharedData.GribFiles().Select(f => new object[] { Path.GetFileName(f) });

    public static string Corpus(string file) => SharedData.Data("grib2", "real", file);

    /// <summary>ecCodes' latitudes and longitudes of one message (1-based) through python3-eccodes.</summary>
    public static (double[] Lat, double[] Lon) EccodesLatLons(string path, int message)
    {
        var tmp = Path.Combine(Path.GetTempPath(), $"grid-ll-{Guid.NewGuid():N}.bin");
        var script = $$"""
            import eccodes, numpy as np, sys
            with open(sys.argv[1], 'rb') as f:
                n = 0
                while True:
                    h = eccodes.codes_grib_new_from_file(f)
                    if h is None: break
                    n += 1
                    if n == {{message}}:
                        la = eccodes.codes_get_array(h, 'latitudes').astype('<f8')
                        lo = eccodes.codes_get_array(h, 'longitudes').astype('<f8')
                        with open(sys.argv[2], 'wb') as out:
                            out.write(np.array([la.size], dtype='<i8').tobytes()); out.write(la.tobytes()); out.write(lo.tobytes())
                        break
                    eccodes.codes_release(h)
            """;
        try
        {
            RunPython(script, path, tmp);
            var bytes = File.ReadAllBytes(tmp);
            var n = (int)BinaryPrimitives.ReadInt64LittleEndian(bytes);
            var lat = new double[n];
            var lon = new double[n];
            Buffer.BlockCopy(bytes, 8, lat, 0, n * 8);
            Buffer.BlockCopy(bytes, 8 + n * 8, lon, 0, n * 8);
            return (lat, lon);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    public static string RunPython(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(TestServices.Python) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(true);
            throw new TimeoutException("python3 did not finish in 5 minutes");
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python3 failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}
