using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Pipeline.Grib2;

namespace Pipeline.Benchmarks;

/// <summary>
/// Decode throughput per data representation template, one thread, messages already in memory: the numbers to
/// set beside tests/Pipeline.Benchmarks/grib2_eccodes_bench.py on the same files.
/// Run: dotnet run -c Release --project tests/Pipeline.Benchmarks -- grib2-throughput [--repeat N] [--per-file] [--threads N] [--vs-eccodes] FILE_OR_DIR...
/// </summary>
public static class Grib2Throughput
{
    public static readonly IReadOnlyDictionary<int, string> Names = new Dictionary<int, string>
    {
        [0] = "simple", [2] = "complex", [3] = "complex+sd", [4] = "ieee", [40] = "jpeg2000", [41] = "png",
        [42] = "ccsds", [61] = "log", [200] = "run-length",
    };

    public static IReadOnlyList<GribField> LoadFields(IEnumerable<string> paths) =>
        LoadFieldsByFile(paths).Select(x => x.Field).ToList();

    /// <summary>The decodable fields with the file each came from (for --per-file).</summary>
    public static IReadOnlyList<(string File, GribField Field)> LoadFieldsByFile(IEnumerable<string> paths)
    {
        var fields = new List<(string, GribField)>();
        foreach (var p in paths)
        {
            var files = Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p];
            foreach (var f in files)
            {
                IReadOnlyList<GribMessage> messages;
                try { messages = GribFile.Read(f); }
                catch (GribFormatException) { continue; }
                foreach (var m in messages)
                {
                    // The set ecCodes decodes (grib2_eccodes_bench.py): the first field of each message (ecCodes'
                    // default, multi-field support off), without what ecCodes 2.28 cannot decode (grid 3.150,
                    // product 4.103, data 5.200).
                    var field = m.Fields[0];
                    if (field.GridDefinitionTemplateNumber == 150 || field.ProductDefinitionTemplateNumber == 103 ||
                        field.DataRepresentationTemplateNumber == 200) continue;
                    try { field.DecodeValues(); }
                    catch (GribFormatException) { continue; } // undecodable: not timed
                    fields.Add((f, field));
                }
            }
        }
        return fields;
    }

    /// <summary>All messages decoded by <paramref name="threads"/> threads at once, each with its own buffer.</summary>
    private static int RunParallel(IReadOnlyList<GribField> fields, int repeat, int threads)
    {
        var work = Enumerable.Repeat(fields, repeat).SelectMany(f => f).ToList();
        long values = work.Sum(f => (long)f.NumberOfDataPoints);
        var sw = Stopwatch.StartNew();
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => new double[0],
            (f, _, buffer) =>
            {
                if (buffer.Length < f.NumberOfDataPoints) buffer = new double[f.NumberOfDataPoints];
                f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints));
                return buffer;
            },
            _ => { });
        sw.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"threads {threads}: {work.Count} decodes, {values / sw.Elapsed.TotalSeconds / 1e6:F1} M values/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {values / sw.Elapsed.TotalSeconds / 1e6:F1}"));
        return 0;
    }

    /// <summary>
    /// Decodes every field <paramref name="repeat"/> times into one reused buffer after a warm-up pass. The output
    /// buffer is the caller's, so whatever the timed passes allocate is what decoding allocates beyond its output.
    /// </summary>
    private static (long Values, TimeSpan Elapsed, long Allocated) Time(IReadOnlyList<GribField> list, int repeat)
    {
        var buffer = new double[list.Max(f => f.NumberOfDataPoints)];
        foreach (var f in list) f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints)); // warm up
        long values = 0;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        for (var r = 0; r < repeat; r++)
            foreach (var f in list)
            {
                f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints));
                values += f.NumberOfDataPoints;
            }
        sw.Stop();
        return (values, sw.Elapsed, GC.GetAllocatedBytesForCurrentThread() - allocated);
    }

    // Allocated beyond the output: bytes per decode, and as a share of the output's 8 bytes a value (after the warm-up,
    // so the pooled scratch buffers are already there).
    private static string AllocationShare(long allocated, long values, int decodes) =>
        string.Create(CultureInfo.InvariantCulture, $"alloc {allocated / (double)decodes:F0} B/decode ({allocated / (8.0 * values):P3} of output)");

    public static int Run(string[] args)
    {
        var repeat = 3;
        var threads = 0; // 0: the per-packing one-thread report; N (even 1): all messages on N threads
        var perFile = false;
        var vsEccodes = false;
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--repeat") repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--threads") threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--per-file") perFile = true;
            else if (args[i] == "--vs-eccodes") vsEccodes = true;
            else paths.Add(args[i]);
        }
        var byFile = LoadFieldsByFile(paths);
        var fields = byFile.Select(x => x.Field).ToList();
        if (threads > 0) return RunParallel(fields, repeat, threads);
        if (vsEccodes) return Grib2VsEccodes.Run(byFile, repeat, perFile);
        if (perFile)
            foreach (var group in byFile.GroupBy(x => (Name: Path.GetFileName(x.File), x.Field.DataRepresentationTemplateNumber))
                         .OrderBy(g => g.Key.DataRepresentationTemplateNumber).ThenBy(g => g.Key.Name, StringComparer.Ordinal))
            {
                var (values, elapsed, allocated) = Time(group.Select(x => x.Field).ToList(), repeat);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"file 5.{group.Key.DataRepresentationTemplateNumber,-4} {group.Key.Name} {group.Count(),4} msgs {values / (double)repeat / 1e6,9:F2} M values {values / elapsed.TotalSeconds / 1e6,9:F1} M values/s  {AllocationShare(allocated, values, group.Count() * repeat)}"));
            }
        long totalValues = 0;
        var totalTime = TimeSpan.Zero;
        foreach (var group in fields.GroupBy(f => f.DataRepresentationTemplateNumber).OrderBy(g => g.Key))
        {
            var list = group.ToList();
            var (values, elapsed, allocated) = Time(list, repeat);
            totalValues += values;
            totalTime += elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"5.{group.Key,-4} {Names.GetValueOrDefault(group.Key, "?"),-11} {list.Count,4} msgs {values / (double)repeat / 1e6,9:F2} M values {values / elapsed.TotalSeconds / 1e6,9:F1} M values/s  {AllocationShare(allocated, values, list.Count * repeat)}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {totalValues / totalTime.TotalSeconds / 1e6:F1}"));
        return 0;
    }
}

/// <summary>
/// BenchmarkDotNet view of the same work: one decode pass over the corpus messages of each packing
/// (PIPELINE_SHARED or ../shared/data/grib2/real).
/// Run: dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*Grib2Decode*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 5)]
public class Grib2DecodeBenchmarks
{
    private IReadOnlyList<GribField> fields = [];
    private double[] buffer = [];

    [Params(0, 2, 3, 40, 41, 42)]
    public int Template { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var shared = Environment.GetEnvironmentVariable("PIPELINE_SHARED") ?? FindShared();
        fields = Grib2Throughput.LoadFields([Path.Combine(shared, "data", "grib2", "real")])
            .Where(f => f.DataRepresentationTemplateNumber == Template).ToList();
        buffer = new double[fields.Select(f => f.NumberOfDataPoints).DefaultIfEmpty(0).Max()];
    }

    [Benchmark]
    public long DecodeAll()
    {
        long n = 0;
        foreach (var f in fields)
        {
            f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints));
            n += f.NumberOfDataPoints;
        }
        return n;
    }

    private static string FindShared()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "data", "grib2"))) return candidate;
        }
        throw new DirectoryNotFoundException("set PIPELINE_SHARED to the directory that holds data/grib2");
    }
}

/// <summary>
/// Side by side in one process, message by message: for every field, <c>repeat</c> rounds of (our decode, ecCodes'
/// grib_get_double_array on a fresh handle made from the same message bytes, the call grib2_eccodes_bench.py times),
/// both one thread, into a preallocated buffer. Each side keeps its fastest round per message, so a load spike
/// from other work on the machine hits one round of one side, not the comparison. Prints per packing (and with
/// --per-file per file) ours, ecCodes and the ratio. Needs libeccodes.so.0 (Debian libeccodes0).
/// </summary>
internal static unsafe class Grib2VsEccodes
{
    private static readonly nint Lib = NativeLibrary.Load("libeccodes.so.0");
    private static readonly delegate* unmanaged<void*, byte*, nuint, void*> NewFromMessageCopy =
        (delegate* unmanaged<void*, byte*, nuint, void*>)NativeLibrary.GetExport(Lib, "codes_handle_new_from_message_copy");
    private static readonly delegate* unmanaged<void*, byte*, double*, nuint*, int> GetDoubleArray =
        (delegate* unmanaged<void*, byte*, double*, nuint*, int>)NativeLibrary.GetExport(Lib, "codes_get_double_array");
    private static readonly delegate* unmanaged<void*, int> HandleDelete =
        (delegate* unmanaged<void*, int>)NativeLibrary.GetExport(Lib, "codes_handle_delete");

    private static readonly byte[] ValuesKey = "values\0"u8.ToArray();

    /// <summary>Seconds ecCodes spends decoding the message's first field, or NaN when it cannot.</summary>
    private static double TimeEccodes(ReadOnlyMemory<byte> message, double[] buffer)
    {
        void* h;
        fixed (byte* m = message.Span) h = NewFromMessageCopy(null, m, (nuint)message.Length);
        if (h == null) return double.NaN;
        try
        {
            var length = (nuint)buffer.Length;
            int rc;
            long t0, t1;
            fixed (byte* key = ValuesKey)
            fixed (double* b = buffer)
            {
                t0 = Stopwatch.GetTimestamp();
                rc = GetDoubleArray(h, key, b, &length);
                t1 = Stopwatch.GetTimestamp();
            }
            return rc == 0 ? (t1 - t0) / (double)Stopwatch.Frequency : double.NaN;
        }
        finally
        {
            HandleDelete(h);
        }
    }

    private static double TimeOurs(GribField f, double[] buffer)
    {
        var t0 = Stopwatch.GetTimestamp();
        f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints));
        return (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
    }

    public static int Run(IReadOnlyList<(string File, GribField Field)> fields, int repeat, bool perFile)
    {
        var buffer = new double[fields.Max(x => x.Field.NumberOfDataPoints)];
        // JIT warm-up: the smallest field of each packing and width 40 times, twice, with a pause for the tier-1
        // compiles, so that the first files measured do not run unoptimized code (ecCodes is compiled C).
        var probes = fields.GroupBy(x => (x.Field.DataRepresentationTemplateNumber, x.Field.BitsPerValue))
            .Select(g => g.MinBy(x => x.Field.NumberOfDataPoints).Field).ToList();
        for (var round = 0; round < 2; round++)
        {
            foreach (var f in probes)
                for (var k = 0; k < 40; k++) TimeOurs(f, buffer);
            Thread.Sleep(500);
        }
        var rows = new List<(string File, int Template, long Values, double Ours, double Theirs)>();
        foreach (var (file, f) in fields)
        {
            double ours = double.MaxValue, theirs = double.MaxValue;
            TimeOurs(f, buffer); // warm up both
            if (double.IsNaN(TimeEccodes(f.Message.Bytes, buffer))) continue;
            for (var r = 0; r < repeat; r++)
            {
                ours = Math.Min(ours, TimeOurs(f, buffer));
                theirs = Math.Min(theirs, TimeEccodes(f.Message.Bytes, buffer));
            }
            rows.Add((Path.GetFileName(file), f.DataRepresentationTemplateNumber, f.NumberOfDataPoints, ours, theirs));
        }
        Console.WriteLine($"{"",-60} {"msgs",5} {"M values",9} {"ours M/s",9} {"ecCodes M/s",11} {"ratio",6}");
        void Print(string label, IEnumerable<(string File, int Template, long Values, double Ours, double Theirs)> group)
        {
            var list = group.ToList();
            var values = list.Sum(x => x.Values);
            double ours = list.Sum(x => x.Ours), theirs = list.Sum(x => x.Theirs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label,-60} {list.Count,5} {values / 1e6,9:F2} {values / ours / 1e6,9:F1} {values / theirs / 1e6,11:F1} {theirs / ours,6:F2}"));
        }
        if (perFile)
            foreach (var g in rows.GroupBy(x => (x.Template, x.File)).OrderBy(g => g.Key.Template).ThenBy(g => g.Key.File, StringComparer.Ordinal))
            {
                var name = g.Key.File.Length > 50 ? g.Key.File[..50] : g.Key.File;
                Print($"file 5.{g.Key.Template,-3} {name}", g);
            }
        foreach (var g in rows.GroupBy(x => x.Template).OrderBy(g => g.Key))
            Print($"5.{g.Key,-4} {Grib2Throughput.Names.GetValueOrDefault(g.Key, "?")}", g);
        Print("total", rows);
        return 0;
    }
}
