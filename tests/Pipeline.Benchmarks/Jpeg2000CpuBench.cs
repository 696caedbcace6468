using System.Globalization;
using System.Runtime.InteropServices;
using Pipeline.Grib2;
using Pipeline.Grib2.Data;

namespace Pipeline.Benchmarks;

/// <summary>
/// Our JPEG 2000 decoder against OpenJPEG on the same template 5.40 fields, timed in thread CPU time
/// (CLOCK_THREAD_CPUTIME_ID) rather than wall time, so that other work on a shared machine does not blur the
/// ratio; best of N per field for each side, alternating. Decode of the field including GRIB scaling on both sides.
/// Run: dotnet run -c Release --project tests/Pipeline.Benchmarks -- jpeg2000-cpu [--repeat N] [--ours] FILE_OR_DIR...
/// (--ours: our decoder only, for quick before/after comparisons of a change; the OpenJPEG column is then empty)
/// </summary>
public static class Jpeg2000CpuBench
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    private static double ThreadCpu()
    {
        ClockGetTime(3, out var ts); // CLOCK_THREAD_CPUTIME_ID
        return ts.Seconds + ts.Nanoseconds * 1e-9;
    }

    public static int Run(string[] args)
    {
        var repeat = 5;
        var oursOnly = false;
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
            if (args[i] == "--repeat") repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--ours") oursOnly = true;
            else paths.Add(args[i]);
        var fields = Grib2Throughput.LoadFieldsByFile(paths).Where(x => x.Field.DataRepresentationTemplateNumber == 40).ToList();
        var buffer = new double[fields.Max(x => x.Field.NumberOfValues)];
        double Time(GribField f, bool managed)
        {
            var t0 = ThreadCpu();
            Jpeg2000Packing.Decode(f, buffer.AsSpan(0, f.NumberOfValues), managed);
            return ThreadCpu() - t0;
        }
        foreach (var (_, f) in fields.Take(40)) for (var k = 0; k < 20; k++) { Time(f, true); if (!oursOnly) Time(f, false); }
        Thread.Sleep(300);
        var rows = new List<(string File, long Values, double Ours, double Theirs)>();
        foreach (var (file, f) in fields)
        {
            double ours = double.MaxValue, theirs = double.MaxValue;
            for (var r = 0; r < repeat; r++)
            {
                ours = Math.Min(ours, Time(f, true));
                if (!oursOnly) theirs = Math.Min(theirs, Time(f, false));
            }
            rows.Add((Path.GetFileName(file), f.NumberOfValues, ours, theirs));
        }
        foreach (var g in rows.GroupBy(x => x.File).Append(rows.GroupBy(_ => "total").Single()))
        {
            var values = g.Sum(x => x.Values);
            double ours = g.Sum(x => x.Ours), theirs = g.Sum(x => x.Theirs);
            var name = g.Key.Length > 50 ? g.Key[..50] : g.Key;
            Console.WriteLine(oursOnly
                ? string.Create(CultureInfo.InvariantCulture, $"{name,-50} {g.Count(),4} {values / ours / 1e6,8:F1} M values/s CPU  {ours * 1e3,8:F2} ms")
                : string.Create(CultureInfo.InvariantCulture,
                    $"{name,-50} {g.Count(),4} {values / ours / 1e6,8:F1} {values / theirs / 1e6,8:F1} M values/s CPU  ratio {theirs / ours,5:F2}"));
        }
        return 0;
    }
}
