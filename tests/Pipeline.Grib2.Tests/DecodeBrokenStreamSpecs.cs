using System.Buffers.Binary;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>Damaged PNG, JPEG 2000 and CCSDS code streams in section 7 fail with a GribFormatException naming section 7.</summary>
public sealed class DecodeBrokenStreamSpecs
{
    public static TheoryData<int> CodecTemplates() => [40, 41, 42];

    [SharedDataTheory]
    [MemberData(nameof(CodecTemplates))]
    public void Should_fail_on_section_7_when_code_stream_is_garbage(int template)
    {
        var message = Smallest(template);
        var s7 = (int)(message.Fields[0].SectionOffset(7) - message.Offset);
        var bytes = message.Bytes.ToArray();
        var rng = new Random(template);
        for (var i = s7 + 5; i < bytes.Length - 4; i++) bytes[i] = (byte)rng.Next(256);
        var field = GribFile.ParseMessage(bytes, message.Offset).Fields[0];
        var e = Assert.Throws<GribFormatException>(() => field.DecodeValues());
        Assert.Equal(7, e.Section);
        Assert.Contains($"offset {message.Offset + s7}", e.Message);
    }

    [SharedDataTheory]
    [MemberData(nameof(CodecTemplates))]
    public void Should_fail_clearly_or_decode_when_code_stream_is_cut_short(int template)
    {
        var message = Smallest(template);
        var s7 = (int)(message.Fields[0].SectionOffset(7) - message.Offset);
        var original = message.Bytes.ToArray();
        var s7Length = (int)BinaryPrimitives.ReadUInt32BigEndian(original.AsSpan(s7));
        var keep = 5 + (s7Length - 5) / 3;
        // Section 7 shortened to a third of its code stream, lengths patched so the message itself is well formed.
        byte[] bytes = [.. original.AsSpan(0, s7 + keep), .. "7777"u8];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(s7), (uint)keep);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), (ulong)bytes.Length);
        var field = GribFile.ParseMessage(bytes, message.Offset).Fields[0];
        if (template == 40)
        {
            // A JPEG 2000 stream cut between packets may decode to a coarser image (it is progressive), as OpenJPEG
            // does; the decoder must either do that with the right number of values or fail on section 7.
            try
            {
                Assert.Equal(field.NumberOfDataPoints, field.DecodeValues().Length);
            }
            catch (GribFormatException e)
            {
                Assert.Equal(7, e.Section);
            }
            return;
        }
        Assert.Equal(7, Assert.Throws<GribFormatException>(() => field.DecodeValues()).Section);
    }

    private static GribMessage Smallest(int template) =>
        SharedData.GribFiles()
            .SelectMany(f => GribFile.Read(f))
            .Where(m => m.Fields[0].DataRepresentationTemplateNumber == template && m.Fields[0].BitsPerValue > 0)
            .MinBy(m => m.Fields[0].NumberOfDataPoints)!;
}
