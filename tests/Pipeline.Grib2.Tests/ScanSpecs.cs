using System.Buffers.Binary;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>Scanning: message boundaries, GRIB1 skipping, streams, and damaged input that must fail clearly.</summary>
public sealed class ScanSpecs
{
    private static byte[] Sample() =>
        DecodeTestMessages.Message(4, 3, new DecodeTestMessages.Field([.. Enumerable.Range(0, 12).Select(i => (uint)i)], 8));

    [Fact]
    public void Should_find_every_message_and_its_offset_when_garbage_lies_between()
    {
        var a = Sample();
        byte[] data = [.. "junk"u8.ToArray(), .. a, 1, 2, 3, .. a];
        var messages = GribFile.Scan(data, baseOffset: 1000);
        Assert.Equal(2, messages.Count);
        Assert.Equal(1004, messages[0].Offset);
        Assert.Equal(1004 + a.Length + 3, messages[1].Offset);
        Assert.Equal(a.Length, messages[1].Length);
        Assert.Equal(new DateTime(2024, 2, 29, 12, 30, 0, DateTimeKind.Utc), messages[0].Identification.ReferenceTime);
        Assert.Equal(98, messages[0].Identification.Centre);
    }

    [Fact]
    public void Should_skip_grib1_with_a_warning_naming_its_offset_when_editions_are_mixed()
    {
        var g1 = new byte[40];
        "GRIB"u8.CopyTo(g1);
        g1[6] = 40; // 3-byte length
        g1[7] = 1;
        "7777"u8.CopyTo(g1.AsSpan(36));
        var a = Sample();
        var warnings = new List<string>();
        byte[] data = [.. g1, .. a];
        var messages = GribFile.Scan(data, warn: warnings.Add);
        Assert.Single(messages);
        Assert.Equal(40, messages[0].Offset);
        Assert.Contains(warnings, w => w.Contains("edition 1") && w.Contains("offset 0"));
    }

    [SharedDataFact]
    public void Should_skip_every_message_with_a_warning_when_file_is_grib1()
    {
        var path = Directory.EnumerateFiles(SharedData.Data("grib2", "grib1")).First();
        var warnings = new List<string>();
        var messages = GribFile.Read(path, warnings.Add);
        Assert.Empty(messages);
        Assert.NotEmpty(warnings);
        Assert.All(warnings, w => Assert.Contains("edition 1", w));
    }

    [Fact]
    public void Should_read_the_same_messages_when_scanning_a_forward_only_stream()
    {
        var a = Sample();
        byte[] data = [.. "xx"u8.ToArray(), .. a, .. a];
        using var stream = new ForwardOnlyStream(data);
        var fromStream = GribFile.ReadStream(stream).ToList();
        var fromBuffer = GribFile.Scan(data);
        Assert.Equal(fromBuffer.Select(m => m.Offset), fromStream.Select(m => m.Offset));
        Assert.Equal(fromBuffer[1].Fields[0].DecodeValues(), fromStream[1].Fields[0].DecodeValues());
    }

    [Fact]
    public void Should_name_offset_and_section_when_message_is_truncated_anywhere()
    {
        var a = Sample();
        for (var cut = 8; cut < a.Length; cut++)
        {
            var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a.AsMemory(0, cut)));
            Assert.Equal(0, e.Offset);
            Assert.Contains("offset 0", e.Message);
            Assert.Equal(0, e.Section);
        }
    }

    [Fact]
    public void Should_fail_on_section_8_when_7777_is_missing()
    {
        var a = Sample();
        a[^1] = (byte)'X';
        var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a));
        Assert.Equal(8, e.Section);
        Assert.Contains("7777", e.Message);
    }

    [Fact]
    public void Should_name_the_section_when_a_section_length_is_wrong()
    {
        var a = Sample();
        var s3 = (int)GribFile.Scan(a)[0].Fields[0].SectionOffset(3);
        BinaryPrimitives.WriteUInt32BigEndian(a.AsSpan(s3), 100_000); // runs past the message
        var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a));
        Assert.Equal(3, e.Section);
        Assert.Equal(s3, e.Offset);

        var b = Sample();
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(s3), 3); // smaller than its header
        Assert.Equal(3, Assert.Throws<GribFormatException>(() => GribFile.Scan(b)).Section);

        var c = Sample();
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(s3), 60); // shorter: the next "section" is garbage
        Assert.Throws<GribFormatException>(() => GribFile.Scan(c));
    }

    [Fact]
    public void Should_fail_on_section_0_when_total_length_runs_past_the_buffer()
    {
        var a = Sample();
        BinaryPrimitives.WriteUInt64BigEndian(a.AsSpan(8), (ulong)a.Length + 10);
        var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a));
        Assert.Equal(0, e.Section);
        Assert.Contains("past the end", e.Message);
        BinaryPrimitives.WriteUInt64BigEndian(a.AsSpan(8), ulong.MaxValue);
        Assert.Throws<GribFormatException>(() => GribFile.Scan(a));
    }

    [Fact]
    public void Should_fail_on_section_5_when_bits_per_value_is_absurd()
    {
        var a = Sample();
        var s5 = (int)GribFile.Scan(a)[0].Fields[0].SectionOffset(5);
        a[s5 + 19] = 200;
        var field = GribFile.Scan(a)[0].Fields[0];
        var e = Assert.Throws<GribFormatException>(() => field.DecodeValues());
        Assert.True(e.Section is 5 or 7, e.Message);
        Assert.Contains("offset", e.Message);
    }

    [Fact]
    public void Should_fail_before_allocating_when_grid_size_is_absurd()
    {
        var a = Sample();
        var s3 = (int)GribFile.Scan(a)[0].Fields[0].SectionOffset(3);
        BinaryPrimitives.WriteUInt32BigEndian(a.AsSpan(s3 + 6), 2_000_000_000);
        var field = GribFile.Scan(a)[0].Fields[0];
        var e = Assert.Throws<GribFormatException>(() => field.DecodeValues());
        Assert.Equal(3, e.Section);
    }

    [Fact]
    public void Should_fail_on_section_7_when_data_are_shorter_than_the_values_need()
    {
        var a = Sample();
        var s5 = (int)GribFile.Scan(a)[0].Fields[0].SectionOffset(5);
        a[s5 + 19] = 16; // 12 values of 16 bits need 24 bytes, section 7 holds 12
        var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a)[0].Fields[0].DecodeValues());
        Assert.Equal(7, e.Section);
    }

    [Fact]
    public void Should_fail_on_section_6_when_bitmap_is_shorter_than_the_grid()
    {
        var a = DecodeTestMessages.Message(20, 1, new DecodeTestMessages.Field([1], 8, Bitmap: [true, .. new bool[7]]));
        var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a));
        Assert.Equal(6, e.Section);
    }

    [Fact]
    public void Should_fail_on_section_6_when_254_has_no_previous_bitmap()
    {
        var a = DecodeTestMessages.Message(2, 1, new DecodeTestMessages.Field([1, 2], 8, ReuseBitmap: true));
        var e = Assert.Throws<GribFormatException>(() => GribFile.Scan(a));
        Assert.Equal(6, e.Section);
        Assert.Contains("254", e.Message);
    }

    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private int position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, 7), data.Length - position); // short reads on purpose
            Array.Copy(data, position, buffer, offset, n);
            position += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
