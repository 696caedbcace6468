using Pipeline.Grib2.Data;
using Pipeline.Grib2.Data.Jpeg2000;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>
/// The C# JPEG 2000 decoder (Jpeg2000/J2kDecoder) against OpenJPEG, the library ecCodes uses: the corpus's template
/// 5.40 messages, then code streams that OpenJPEG's own encoder writes over the options GRIB producers may use.
/// Integers are compared before any GRIB scaling, so a difference is the decoder's and nothing else's.
/// </summary>
public sealed class Jpeg2000DecoderSpecs
{
    private static int[] Ours(ReadOnlySpan<byte> data, int n)
    {
        var ints = new int[n];
        J2kDecoder.Decode(data, ints, 0);
        return ints;
    }

    private static void AssertSame(int[] expected, int[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                Assert.Fail($"{what}: sample {i} of {expected.Length} is {actual[i]}, OpenJPEG {expected[i]}");
    }

    [SharedDataFact]
    public void Should_give_OpenJPEGs_integers_when_decoding_the_corpus_jpeg2000_messages()
    {
        var compared = 0;
        foreach (var path in SharedData.GribFiles())
        {
            IReadOnlyList<GribMessage> messages;
            try { messages = GribFile.Read(path); }
            catch (GribFormatException) { continue; }
            foreach (var field in messages.SelectMany(m => m.Fields).Where(f => f.DataRepresentationTemplateNumber == 40 && f.BitsPerValue > 0))
            {
                var data = field.Section7.Span[5..];
                var n = field.NumberOfValues;
                var expected = Jpeg2000Packing.OpenJpegIntegers(data, n, 0);
                AssertSame(expected, Ours(data, n), $"{Path.GetFileName(path)} message at {field.Message.Offset}");
                compared++;
            }
        }
        Assert.True(compared >= 100, $"{compared} JPEG 2000 fields compared");
    }
}
