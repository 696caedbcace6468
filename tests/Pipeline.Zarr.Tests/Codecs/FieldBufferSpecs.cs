using Xunit;

namespace Pipeline.Zarr.Tests.Codecs;

/// <summary>Field-sized buffers come from one bounded pool shared by every thread; small ones from the shared pool.</summary>
public sealed class FieldBufferSpecs
{
    // long: no conversion rents longs, so nothing else in the test run touches this pool.
    private const int Large = FieldBuffers.LargeBytes / sizeof(long);

    [Fact]
    public async Task Should_hand_a_large_buffer_returned_on_one_thread_to_another_when_pooled()
    {
        var first = await Task.Factory.StartNew(() => FieldBuffers.Rent<long>(Large - 100), TaskCreationOptions.LongRunning);
        Assert.Equal(Large, first.Length);
        await Task.Factory.StartNew(() => FieldBuffers.Return(first), TaskCreationOptions.LongRunning);
        var second = await Task.Factory.StartNew(() => FieldBuffers.Rent<long>(Large), TaskCreationOptions.LongRunning);
        Assert.Same(first, second);
        FieldBuffers.Return(second);
    }

    [Fact]
    public void Should_keep_at_most_PerSize_buffers_of_a_size_when_more_are_returned()
    {
        var size = 2 * Large;
        var rented = Enumerable.Range(0, FieldBuffers.PerSize + 3).Select(_ => FieldBuffers.Rent<long>(size)).ToList();
        foreach (var a in rented) FieldBuffers.Return(a);
        var again = Enumerable.Range(0, FieldBuffers.PerSize + 3).Select(_ => FieldBuffers.Rent<long>(size)).ToList();
        // PerSize of this size come back; a rent beyond them may take one of the next size (the pool's spill-over).
        Assert.Equal(FieldBuffers.PerSize, again.Count(a => a.Length == size && rented.Any(r => ReferenceEquals(r, a))));
        foreach (var a in again) FieldBuffers.Return(a);
    }

    [Fact]
    public void Should_round_small_and_odd_lengths_up_and_take_them_back_when_returned()
    {
        foreach (var n in new[] { 0, 1, 17, 1000, Large / 2 + 1, Large + 1 })
        {
            var a = FieldBuffers.Rent<long>(n);
            Assert.True(a.Length >= n);
            FieldBuffers.Return(a);
        }
        var floats = FieldBuffers.Rent<float>(1_038_240); // a 0.25 degree global field
        Assert.Equal(1 << 20, floats.Length);
        FieldBuffers.Return(floats);
    }
}
