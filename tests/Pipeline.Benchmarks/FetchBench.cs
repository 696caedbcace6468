using System.Diagnostics;
using System.Globalization;
using System.Net;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Fetch;

namespace Pipeline.Benchmarks;

/// <summary>
/// The fetch benchmark's two halves (driven by fetch_bench.sh):
/// <c>fetch-serve DIR FILES SIZE LATENCY_MS</c> writes FILES GRIB-shaped files of SIZE bytes into DIR and serves them
/// on a loopback Kestrel (each response delayed by LATENCY_MS, a stand-in for a remote server's round trip), printing
/// <c>PORT n</c>; <c>fetch-client MODE LIST OUT</c> downloads every URL of LIST with MODE <c>httpclient</c> (a plain
/// sequential HttpClient loop) or <c>fetcher</c> (the Fetch flow) and prints seconds, bytes and peak RSS (VmHWM).
/// </summary>
public static class FetchBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        switch (args[0])
        {
            case "fetch-serve":
                await ServeAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), long.Parse(args[3], CultureInfo.InvariantCulture),
                    int.Parse(args[4], CultureInfo.InvariantCulture));
                return 0;
            case "fetch-client":
                return await ClientAsync(args[1], args[2], args[3], args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 8);
            default:
                await Console.Error.WriteLineAsync("usage: fetch-serve DIR FILES SIZE LATENCY_MS | fetch-client httpclient|fetcher LIST OUT [CONNECTIONS]");
                return 2;
        }
    }

    private static async Task ServeAsync(string dir, int files, long size, int latencyMs)
    {
        Directory.CreateDirectory(dir);
        var buffer = new byte[1 << 20];
        for (var i = 0; i < files; i++)
        {
            var path = Path.Combine(dir, $"f{i:D4}.grib2");
            if (File.Exists(path) && new FileInfo(path).Length == size) continue;
            await using var f = File.Create(path);
            var rng = new Random(i);
            for (long written = 0; written < size;)
            {
                var n = (int)Math.Min(buffer.Length, size - written);
                rng.NextBytes(buffer.AsSpan(0, n));
                if (written == 0) "GRIB"u8.CopyTo(buffer);
                if (written + n == size) "7777"u8.CopyTo(buffer.AsSpan(n - 4));
                await f.WriteAsync(buffer.AsMemory(0, n));
                written += n;
            }
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var root = Path.GetFullPath(dir);
        app.Run(async ctx =>
        {
            if (latencyMs > 0) await Task.Delay(latencyMs);
            var name = Path.GetFileName(ctx.Request.Path.Value ?? "");
            var path = Path.Combine(root, name);
            if (name.Length == 0 || !File.Exists(path))
            {
                ctx.Response.StatusCode = 404;
                return;
            }
            var info = new FileInfo(path);
            ctx.Response.ContentLength = info.Length;
            ctx.Response.Headers.ETag = $"\"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\"";
            await ctx.Response.SendFileAsync(path);
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        Console.WriteLine($"PORT {port}");
        await Console.Out.FlushAsync();
        await app.WaitForShutdownAsync(CancellationToken.None);
    }

    private static async Task<int> ClientAsync(string mode, string list, string outDir, int connections)
    {
        var urls = (await File.ReadAllLinesAsync(list)).Where(l => l.Length > 0).Select(l => new Uri(l)).ToList();
        Directory.CreateDirectory(outDir);
        long bytes = 0;
        int ok = 0;
        var sw = new Stopwatch();
        TimeSpan cpuStart = default, cpuEnd = default;
        switch (mode)
        {
            case "httpclient":
            {
                using var client = new HttpClient();
                var buffer = new byte[81920];
                // Warm-up (JIT, first connection) outside the timing: a service runs warm.
                (await client.GetByteArrayAsync(urls[0])).AsSpan().Clear();
                cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                sw.Start();
                foreach (var url in urls)
                {
                    using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                    response.EnsureSuccessStatusCode();
                    await using var body = await response.Content.ReadAsStreamAsync();
                    await using var file = File.Create(Path.Combine(outDir, Path.GetFileName(url.AbsolutePath)));
                    int n;
                    while ((n = await body.ReadAsync(buffer)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, n));
                        bytes += n;
                    }
                    ok++;
                }
                sw.Stop();
                cpuEnd = Process.GetCurrentProcess().TotalProcessorTime;
                break;
            }
            case "fetcher":
            {
                var options = new FetchOptions
                {
                    AllowedHosts = ["127.0.0.1"],
                    Limits = new HostLimits(RequestsPerSecond: 10_000, MaxConnections: connections, Burst: 10_000),
                    InMemoryThreshold = 0,
                };
                await using var fetcher = new Fetcher(new FetchSettings
                {
                    CacheDirectory = outDir, Defaults = options,
                    FlushToDisk = Environment.GetEnvironmentVariable("FETCH_BENCH_FSYNC") != "0",
                });
                using var system = ActorSystem.Create("bench");
                var materializer = system.Materializer();
                var announcements = urls.Select(u => new Announcement("bench", AnnouncementFormats.Manual, u.AbsolutePath, u,
                    u.AbsolutePath.TrimStart('/'), null, null, null, DateTimeOffset.UtcNow, "{}")).ToList();
                // Warm-up (JIT of the flow, fetcher, hashing, cache; first connection) outside the timing, in a scratch cache.
                await using (var warm = new Fetcher(new FetchSettings { CacheDirectory = Path.Combine(outDir, "warmup"), Defaults = options }))
                    await Source.From(announcements.Take(8)).Via(FetchFlow.FromAnnouncements(warm)).RunWith(Sink.Seq<FetchResult>(), materializer);
                cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                sw.Start();
                IReadOnlyList<FetchResult> results = Environment.GetEnvironmentVariable("FETCH_BENCH_DIRECT") == "1"
                    ? await Task.WhenAll(announcements.Select(a => fetcher.FetchAsync(new FetchRequest(a, "bench"))))
                    : await Source.From(announcements).Via(FetchFlow.FromAnnouncements(fetcher)).RunWith(Sink.Seq<FetchResult>(), materializer);
                sw.Stop();
                cpuEnd = Process.GetCurrentProcess().TotalProcessorTime;
                foreach (var r in results)
                {
                    if (r is FetchResult.Cached c)
                    {
                        ok++;
                        bytes += c.Size;
                    }
                    else
                    {
                        await Console.Error.WriteLineAsync($"failed: {r}");
                    }
                }
                await system.Terminate();
                break;
            }
            default:
                await Console.Error.WriteLineAsync($"unknown mode {mode}");
                return 2;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mode}: files={ok}/{urls.Count} bytes={bytes} seconds={sw.Elapsed.TotalSeconds:0.000} cpuSeconds={(cpuEnd - cpuStart).TotalSeconds:0.000} MB/s={bytes / 1e6 / sw.Elapsed.TotalSeconds:0.0} peakRssMB={PeakRssMb():0.0}"));
        return ok == urls.Count ? 0 : 1;
    }

    private static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }
}
