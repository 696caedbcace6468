using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Pipeline.Zarr.Grib;

/// <summary>
/// Where a conversion spent its time: wall time of each sequential phase, and for the parallel field phase the time
/// summed over workers (decode, encode, store put), so a profile shows which cost dominates. Thread-safe.
/// </summary>
public sealed class ConversionTimings
{
    private readonly ConcurrentDictionary<string, long> _wall = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _summed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _cpu = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>Wall time per sequential phase, in the order the phases first ran.</summary>
    /// <summary>Wall time and process CPU time (all threads) per sequential phase, in the order the phases first ran.</summary>
    public IReadOnlyList<(string Phase, TimeSpan Wall, TimeSpan Cpu)> Phases =>
        [.. _order.Distinct().Where(_wall.ContainsKey).Select(p => (p, Stopwatch.GetElapsedTime(0, _wall[p]), TimeSpan.FromTicks(_cpu[p])))];

    /// <summary>
    /// CPU time of the worker threads summed per step (decode, encode, put), in name order: immune to other load on
    /// the machine (thread CPU clock on Linux; wall time elsewhere).
    /// </summary>
    public IReadOnlyList<(string Step, TimeSpan Summed)> WorkerSteps =>
        [.. _summed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, TimeSpan.FromTicks(kv.Value)))];

    /// <summary>Starts a phase; dispose the result to end it.</summary>
    public Phase Measure(string phase)
    {
        _order.Enqueue(phase);
        return new Phase(this, phase, Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime.Ticks, summed: false);
    }

    /// <summary>Starts a synchronous step of a parallel worker (ended on the same thread); the CPU times of all workers add up.</summary>
    public Phase Step(string step) => new(this, step, 0, ThreadCpuTicks(), summed: true);

    /// <summary>Starts an asynchronous step (which may end on another thread): its wall time is summed (named "... (wall)").</summary>
    public Phase AsyncStep(string step) => new(this, step + " (wall)", 0, Stopwatch.GetElapsedTime(0).Ticks, summed: true, wallClock: true);

    /// <summary>A running measurement.</summary>
    public readonly struct Phase(ConversionTimings owner, string name, long start, long cpuStart, bool summed, bool wallClock = false) : IDisposable
    {
        public void Dispose()
        {
            if (summed)
            {
                var cpu = (wallClock ? Stopwatch.GetElapsedTime(0).Ticks : ThreadCpuTicks()) - cpuStart;
                owner._summed.AddOrUpdate(name, cpu, (_, t) => t + cpu);
                return;
            }
            var ticks = Stopwatch.GetTimestamp() - start;
            owner._wall.AddOrUpdate(name, ticks, (_, t) => t + ticks);
            var used = Environment.CpuUsage.TotalTime.Ticks - cpuStart;
            owner._cpu.AddOrUpdate(name, used, (_, t) => t + used);
        }
    }

    /// <summary>Human-readable table: one line per phase, then the worker steps.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (p, w, c) in Phases)
            sb.Append(CultureInfo.InvariantCulture, $"  {p,-24} {w.TotalMilliseconds,9:F1} ms wall {c.TotalMilliseconds,9:F1} ms cpu\n");
        foreach (var (p, t) in WorkerSteps) sb.Append(CultureInfo.InvariantCulture, $"  {"  " + p,-24} {t.TotalMilliseconds,9:F1} ms summed over workers\n");
        return sb.ToString();
    }

    private static readonly bool HasThreadClock = OperatingSystem.IsLinux();

    private static long ThreadCpuTicks()
    {
        if (HasThreadClock && clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) == 0) return ts.Seconds * TimeSpan.TicksPerSecond + ts.Nanoseconds / 100;
        return Stopwatch.GetElapsedTime(0).Ticks;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int clock_gettime(int clock, out TimeSpec time);
}
