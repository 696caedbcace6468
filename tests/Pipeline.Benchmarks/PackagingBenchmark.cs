using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Pipeline.Host.Demo;
using Pipeline.Packaging;
using Pipeline.Packaging.Boundaries;
using Pipeline.Packaging.Processing;
using Pipeline.Zarr.Storage;

namespace Pipeline.Benchmarks;

/// <summary>
/// Packages per minute for a set of boundaries over one run (issue 11):
/// <c>dotnet run -c Release --project tests/Pipeline.Benchmarks -- packaging [BOUNDARIES=20] [--resolution 0.5] [--parallel N] [--variables 2t,t]</c>.
/// Generates a global demo run (9 steps, 11 fields each), then N star-shaped boundaries (64 vertices, 3 to 12 degrees across,
/// spread over the globe, some across the 0 meridian), and builds one clipped and masked Zarr package per boundary
/// with the same code the node's runner uses (read the original GRIB2, select, clip, write, datapackage.json, provenance).
/// </summary>
public static class PackagingBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 20;
        var resolution = Option(args, "--resolution") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : 0.5;
        var parallel = Option(args, "--parallel") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : 1;
        var variables = Option(args, "--variables")?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [];
        var dir = Directory.CreateTempSubdirectory("pipeline-packaging-bench-").FullName;
        try
        {
            var run = DemoModelRun.Generate(Path.Combine(dir, "run"), new DemoModelRunOptions { Resolution = resolution });
            var inputs = run.Files.Select(f => new PackageInput(f.FullPath, new Uri("https://example.org/" + f.RelPath),
                Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f.FullPath))), f.Size)).ToList();
            var boundaries = Boundaries(count);
            var store = new LocalDirectoryStore(Path.Combine(dir, "store"));
            Console.WriteLine($"run: {run.Files.Count} files, {run.TotalValues / 1e6:0.0} M values, {run.TotalBytes / 1e6:0.0} MB, grid {run.Grid.Ni}x{run.Grid.Nj}; " +
                              $"{count} boundaries; parallel {parallel}; variables {(variables.Length == 0 ? "all" : string.Join(",", variables))}");

            // One warm-up package (JIT, page cache), not counted.
            await Build(boundaries[0], "warmup");
            var clock = Stopwatch.StartNew();
            long cells = 0, inside = 0, bytes = 0;
            var fields = 0;
            await Parallel.ForEachAsync(boundaries, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (b, _) =>
            {
                var result = await Build(b, b.Name);
                Interlocked.Add(ref cells, result.Cells);
                Interlocked.Add(ref inside, result.InsideCells);
                Interlocked.Add(ref bytes, result.Bytes);
                Interlocked.Add(ref fields, result.Fields);
            });
            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"packages: {count} in {seconds:0.00} s = {count / seconds * 60:0.0} packages/min, {seconds / count * 1000:0} ms/package; " +
                              $"{fields} fields, {inside}/{cells} cells inside, {bytes / 1e6:0.0} MB written");
            return 0;

            Task<PackageResult> Build(Boundary b, string name) => PackageBuilder.BuildAsync(
                new PackageRequest("bench-" + name.ToLowerInvariant(), "demo", "demo/run", b, new FieldSelection(variables, []), true, PackageFormat.Zarr),
                inputs, store, "packages/" + name.ToLowerInvariant());
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Deterministic star-shaped polygons (64 vertices) spread over the globe.</summary>
    public static IReadOnlyList<Boundary> Boundaries(int count)
    {
        var random = new Random(11);
        var list = new List<Boundary>();
        for (var k = 0; k < count; k++)
        {
            var lon = -175 + random.NextDouble() * 350;
            var lat = -60 + random.NextDouble() * 120;
            var radius = 1.5 + random.NextDouble() * 4.5;
            var points = Enumerable.Range(0, 64).Select(i =>
            {
                var a = 2 * Math.PI * i / 64;
                var r = radius * (i % 2 == 0 ? 1 : 0.6);
                return $"[{(lon + r * Math.Cos(a)).ToString("0.###", CultureInfo.InvariantCulture)}, {(lat + r * Math.Sin(a)).ToString("0.###", CultureInfo.InvariantCulture)}]";
            }).ToList();
            points.Add(points[0]);
            list.Add(GeoJsonBoundaries.Parse($$"""{ "type": "Polygon", "coordinates": [[{{string.Join(", ", points)}}]] }""", $"area{k:000}").Single());
        }
        return list;
    }
}
