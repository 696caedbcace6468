using Pipeline.Grib2.Data.Jpeg2000;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// Tier-1 alone: one-row code-blocks decoded on bit masks (the fast path) against the same blocks decoded on the flag
/// words every other code-block uses, over random MQ streams (any byte string is one), widths, bit planes, pass counts,
/// orientations and the code-block styles that change the MQ passes. The flag-word passes are checked against OpenJPEG
/// by Jpeg2000DecoderSpecs.
/// </summary>
public sealed unsafe class Jpeg2000Tier1Specs
{
    private static int[] Decode(Tier1 t1, byte[] bytes, int[] lengths, int[] passes, int w, int orient, int numbps, int style)
    {
        fixed (byte* d = bytes)
        {
            t1.Decode(d, lengths, passes, w, 1, orient, numbps, 0, style);
            return new Span<int>(t1.Data, w).ToArray();
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Tier1.StyleReset)]
    [InlineData(Tier1.StyleTermAll)]
    [InlineData(Tier1.StyleSegSym)]
    [InlineData(Tier1.StyleVsc | Tier1.StylePterm)]
    [InlineData(Tier1.StyleReset | Tier1.StyleTermAll | Tier1.StyleSegSym)]
    public void Should_decode_one_row_code_blocks_on_bit_masks_as_on_flag_words_when_given_random_streams(int style)
    {
        var rng = new Random(style + 17);
        var masks = new Tier1();
        var flags = new Tier1 { RowMasks = false };
        for (var iter = 0; iter < 3000; iter++)
        {
            var w = iter % 7 == 0 ? 64 : rng.Next(1, 65);
            var numbps = rng.Next(1, 17);
            var orient = rng.Next(0, 2); // one-row sub-bands: LL or HL
            var totalPasses = rng.Next(1, 3 * numbps - 1);
            // One segment, or (terminate all) one per pass; each followed by the two spare bytes the decoder borrows.
            var segments = (style & Tier1.StyleTermAll) != 0 ? totalPasses : 1;
            var lengths = new int[segments];
            for (var k = 0; k < segments; k++) lengths[k] = rng.Next(1, 40);
            var passes = Enumerable.Repeat(segments == 1 ? totalPasses : 1, segments).ToArray();
            var bytes = new byte[lengths.Sum() + 2];
            rng.NextBytes(bytes);
            if (iter % 2 == 0) // mostly without markers (0xFF then above 0x8F ends a segment early)
                for (var k = 0; k < bytes.Length; k++) if (bytes[k] == 0xFF) bytes[k] = 0x7F;
            var expected = Decode(flags, bytes, lengths, passes, w, orient, numbps, style);
            var actual = Decode(masks, bytes, lengths, passes, w, orient, numbps, style);
            for (var i = 0; i < w; i++)
                if (expected[i] != actual[i])
                    Assert.Fail($"block {iter} ({w} wide, {numbps} bit planes, {totalPasses} passes, orientation {orient}): " +
                                $"sample {i} is {actual[i]} on masks, {expected[i]} on flag words");
        }
    }
}
