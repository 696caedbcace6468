using System.Buffers.Binary;
using System.Diagnostics;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// Mutates real messages by the thousand (seeded, so failures replay): the reader either decodes or throws
/// GribFormatException; never another exception, never a hang, never a runaway allocation.
/// </summary>
public sealed class FuzzSpecs(ITestOutputHelper output)
{
    private const int Seed = 20261124;

    [SharedDataFact]
    public void Should_throw_only_GribFormatException_when_corpus_messages_are_mutated()
    {
        // The message with the fewest points of every data representation template in the corpus.
        var samples = new Dictionary<int, (int Points, byte[] Bytes)>();
        foreach (var file in SharedData.GribFiles())
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var m in GribFile.Scan(bytes))
            {
                var t = m.Fields[0].DataRepresentationTemplateNumber;
                var points = m.Fields[0].NumberOfDataPoints;
                if (points > 500_000) continue; // keeps the run short; the corpus PNGs (24.5M points) are in DecodeBrokenStreamSpecs
                if (!samples.TryGetValue(t, out var have) || have.Points > points) samples[t] = (points, m.Bytes.ToArray());
            }
        }
        Assert.Superset(new HashSet<int> { 0, 3, 40, 42 }, samples.Keys.ToHashSet());
        output.WriteLine(string.Join(", ", samples.Select(kv => $"5.{kv.Key}: {kv.Value.Points} points")));
        var result = Run([.. samples.Values.Select(v => v.Bytes)], 2000);
        output.WriteLine(result);
    }

    [Fact]
    public void Should_throw_only_GribFormatException_when_built_messages_are_mutated()
    {
        var rng = new Random(Seed);
        var packed = Enumerable.Range(0, 200).Select(_ => (uint)rng.Next(0, 4096)).ToArray();
        var bitmap = Enumerable.Range(0, 300).Select(i => i % 3 != 0).ToArray();
        var a = DecodeTestMessages.Message(20, 10, new DecodeTestMessages.Field(packed, 12, Reference: 1.5f, DecimalScale: 2));
        var b = DecodeTestMessages.Message(30, 10,
            new DecodeTestMessages.Field(packed, 12, Bitmap: bitmap), new DecodeTestMessages.Field(packed, 12, ReuseBitmap: true));
        output.WriteLine(Run([a, b], 2000));
    }

    private static string Run(IReadOnlyList<byte[]> samples, int mutations)
    {
        var rng = new Random(Seed);
        int decoded = 0, rejected = 0;
        var sw = Stopwatch.StartNew();
        var slowest = new List<(double Ms, int Case, int Template, long Points)>();
        var task = Task.Run(() =>
        {
            for (var i = 0; i < mutations; i++)
            {
                var original = samples[i % samples.Count];
                var mutated = Mutate(original, rng);
                if (Environment.GetEnvironmentVariable("GRIB_FUZZ_DUMP") == i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    File.WriteAllBytes(Path.Combine(Path.GetTempPath(), $"grib-fuzz-{i}.bin"), mutated);
                var caseTimer = Stopwatch.StartNew();
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                long output = 0;
                try
                {
                    foreach (var m in GribFile.Scan(mutated))
                        foreach (var f in m.Fields)
                        {
                            // Grids the mutation made huge are legal GRIB: decoding one would allocate what it says.
                            if (f.NumberOfDataPoints > 4L * Math.Max(original.Length * 8, 1 << 20)) continue;
                            output += 8L * f.NumberOfDataPoints;
                            var v = f.DecodeValues();
                            Assert.Equal(f.NumberOfDataPoints, v.Length);
                        }
                    decoded++;
                }
                catch (GribFormatException e)
                {
                    Assert.Contains("offset", e.Message);
                    rejected++;
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"mutation {i} (seed {Seed}) of a {original.Length}-byte message threw {e}");
                }
                slowest.Add((caseTimer.Elapsed.TotalMilliseconds, i, original.Length, output / 8));
                var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                Assert.True(allocated < 16L * 1024 * 1024 + 4 * output + 8L * original.Length,
                    $"mutation {i} allocated {allocated} bytes for a {original.Length}-byte message");
            }
        });
        Assert.True(task.Wait(TimeSpan.FromMinutes(4)), $"fuzzing did not finish in 4 minutes (a hang?) after {decoded + rejected} cases");
        var top = string.Join("; ", slowest.OrderByDescending(x => x.Ms).Take(8).Select(x => $"#{x.Case} {x.Ms:F0} ms len {x.Template} points {x.Points}"));
        return $"slowest: {top}\n{mutations} mutations: {decoded} decoded, {rejected} rejected with GribFormatException in {sw.Elapsed.TotalSeconds:F1} s";
    }

    private static byte[] Mutate(byte[] original, Random rng)
    {
        var m = (byte[])original.Clone();
        switch (rng.Next(6))
        {
            case 0: // flip a few random bytes
                for (var k = rng.Next(1, 9); k > 0; k--) m[rng.Next(m.Length)] ^= (byte)rng.Next(1, 256);
                break;
            case 1: // truncate
                return m.AsSpan(0, rng.Next(m.Length)).ToArray();
            case 2: // damage a byte in the first 200 (sections 0 to 6 live there)
                for (var k = rng.Next(1, 4); k > 0; k--) m[rng.Next(Math.Min(200, m.Length))] = (byte)rng.Next(256);
                break;
            case 3: // change a section length
            {
                var offsets = SectionOffsets(m);
                if (offsets.Count > 0)
                {
                    var at = offsets[rng.Next(offsets.Count)];
                    var len = BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(at));
                    BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(at), (uint)(len + rng.Next(-16, 17)));
                }
                break;
            }
            case 4: // garble the data of section 7
            {
                var offsets = SectionOffsets(m);
                if (offsets.Count > 0)
                {
                    var at = offsets[^1] + 5;
                    for (var k = rng.Next(1, 32); k > 0 && at < m.Length - 4; k--) m[rng.Next(at, m.Length - 4)] = (byte)rng.Next(256);
                }
                break;
            }
            default: // a section 5 field set to an extreme value
            {
                var offsets = SectionOffsets(m);
                var s5 = offsets.FirstOrDefault(o => m[o + 4] == 5);
                if (s5 > 0)
                {
                    var len = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(s5)), (uint)(m.Length - s5));
                    if (len > 5) m[s5 + rng.Next(5, len)] = rng.Next(2) == 0 ? (byte)0xFF : (byte)rng.Next(256);
                }
                break;
            }
        }
        return m;
    }

    private static List<int> SectionOffsets(byte[] m)
    {
        var list = new List<int>();
        var pos = 16;
        while (pos + 5 <= m.Length - 4)
        {
            var len = BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(pos));
            if (len < 5 || len > m.Length) break;
            list.Add(pos);
            pos += (int)len;
        }
        return list;
    }
}
