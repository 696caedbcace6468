using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Pipeline.Grib2;

namespace Pipeline.Benchmarks;

/// <summary>
/// Decode throughput per data representation template, one thread, messages already in memory: the numbers to
/// set beside tests/Pipeline.Benchmarks/grib2_eccodes_bench.py on the same files.
/// Run: dotnet run -c Release --project tests/Pipeline.Benchmarks -- grib2-throughput [--repeat N] FILE_OR_DIR...
/// </summary>
public static class Grib2Throughput
{
    public static readonly IReadOnlyDictionary<int, string> Names = new Dictionary<int, string>
    {
        [0] = "simple", [2] = "complex", [3] = "complex+sd", [4] = "ieee", [40] = "jpeg2000", [41] = "png",
        [42] = "ccsds", [61] = "log", [200] = "run-length",
    };

    public static IReadOnlyList<GribField> LoadFields(IEnumerable<string> paths)
    {
        var fields = new List<GribField>();
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
                    fields.Add(field);
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

    public static int Run(string[] args)
    {
        var repeat = 3;
        var threads = 1;
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--repeat") repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--threads") threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else paths.Add(args[i]);
        }
        var fields = LoadFields(paths);
        if (threads > 1) return RunParallel(fields, repeat, threads);
        long totalValues = 0;
        var totalTime = TimeSpan.Zero;
        foreach (var group in fields.GroupBy(f => f.DataRepresentationTemplateNumber).OrderBy(g => g.Key))
        {
            var list = group.ToList();
            var buffer = new double[list.Max(f => f.NumberOfDataPoints)];
            foreach (var f in list) f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints)); // warm up
            long values = 0;
            var sw = Stopwatch.StartNew();
            for (var r = 0; r < repeat; r++)
                foreach (var f in list)
                {
                    f.DecodeValues(buffer.AsSpan(0, f.NumberOfDataPoints));
                    values += f.NumberOfDataPoints;
                }
            sw.Stop();
            totalValues += values;
            totalTime += sw.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"5.{group.Key,-4} {Names.GetValueOrDefault(group.Key, "?"),-11} {list.Count,4} msgs {values / (double)repeat / 1e6,9:F2} M values {values / sw.Elapsed.TotalSeconds / 1e6,9:F1} M values/s"));
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
