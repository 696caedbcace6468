using System.Runtime.InteropServices;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

public sealed class ParallelDecodeSpecs
{
    [SharedDataFact]
    public void Should_give_the_sequential_values_in_field_order_when_decoding_a_file_on_several_threads()
    {
        // 307 messages, 343 fields (u/v pairs share a message).
        var messages = GribFile.Read(GridTestSupport.Corpus("pygrib__gfs.t12z.pgrbf120.2p5deg.grib2"));
        var fields = messages.SelectMany(m => m.Fields).ToList();

        var parallel = GribFile.DecodeAll(messages, threads: 2);

        Assert.Equal(343, parallel.Length);
        for (var i = 0; i < fields.Count; i++)
        {
            var sequential = fields[i].DecodeValues();
            Assert.True(MemoryMarshal.AsBytes(sequential.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(parallel[i].AsSpan())),
                $"field {i + 1} differs from its sequential decode");
        }
    }

    [Fact]
    public void Should_refuse_a_negative_thread_count_when_decoding_in_parallel()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GribFile.DecodeAll([], threads: -1));
        Assert.Empty(GribFile.DecodeAll([]));
    }
}
