using Pipeline.Grib2.Data;
using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>Value decoding on messages built byte by byte: scaling, bitmaps, repeated sections, bit widths.</summary>
public sealed class DecodeSpecs
{
    [Fact]
    public void Should_apply_reference_binary_and_decimal_scale_when_decoding_simple_packing()
    {
        var msg = DecodeTestMessages.Message(3, 2,
            new DecodeTestMessages.Field([0, 1, 2, 3, 100, 4095], 12, Reference: 2500f, BinaryScale: -1, DecimalScale: 1));
        var field = Assert.Single(Assert.Single(GribFile.Scan(msg)).Fields);
        var values = field.DecodeValues();
        // (R + X * 2^E) * 10^-D
        double[] expected = [250, 250.05, 250.1, 250.15, 255, 250 + 4095 * 0.05];
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], values[i], 9);
    }

    [Fact]
    public void Should_return_NaN_where_bitmap_is_zero_when_bitmap_present()
    {
        bool[] bitmap = [true, false, false, true, true, false, true, false, false, true, true];
        var msg = DecodeTestMessages.Message(11, 1, new DecodeTestMessages.Field([1, 2, 3, 4, 5, 6], 8, Bitmap: bitmap));
        var field = GribFile.Scan(msg)[0].Fields[0];
        Assert.True(field.BitmapPresent);
        Assert.Equal(6, field.NumberOfValues);
        Assert.Equal(11, field.NumberOfDataPoints);
        var values = field.DecodeValues();
        double[] expected = [1, double.NaN, double.NaN, 2, 3, double.NaN, 4, double.NaN, double.NaN, 5, 6];
        Assert.Equal(expected, values);
    }

    [Fact]
    public void Should_list_each_repetition_as_a_field_and_reuse_bitmap_when_indicator_is_254()
    {
        bool[] bitmap = [false, true, true, false];
        var msg = DecodeTestMessages.Message(2, 2,
            new DecodeTestMessages.Field([7, 8], 4, Bitmap: bitmap),
            new DecodeTestMessages.Field([1, 2], 4, ReuseBitmap: true),
            new DecodeTestMessages.Field([9, 10, 11, 12], 4));
        var message = Assert.Single(GribFile.Scan(msg));
        Assert.Equal(3, message.Fields.Count);
        Assert.Equal([double.NaN, 7, 8, double.NaN], message.Fields[0].DecodeValues());
        Assert.Equal(254, message.Fields[1].BitmapIndicator);
        Assert.Equal([double.NaN, 1, 2, double.NaN], message.Fields[1].DecodeValues());
        Assert.False(message.Fields[2].BitmapPresent);
        Assert.Equal([9.0, 10, 11, 12], message.Fields[2].DecodeValues());
        Assert.Equal(2, message.Fields[2].IndexInMessage);
        Assert.True(message.Fields[1].Section3.Equals(message.Fields[0].Section3));
    }

    [Fact]
    public void Should_return_reference_value_when_bits_per_value_is_zero()
    {
        var msg = DecodeTestMessages.Message(4, 3, new DecodeTestMessages.Field(new uint[12], 0, Reference: 273.5f));
        var values = GribFile.Scan(msg)[0].Fields[0].DecodeValues();
        Assert.All(values, v => Assert.Equal(273.5, v));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(25)]
    [InlineData(31)]
    [InlineData(32)]
    public void Should_unpack_every_bit_width_when_values_are_random(int bits)
    {
        var rng = new Random(bits);
        var max = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var packed = Enumerable.Range(0, 1001).Select(_ => (uint)(rng.NextInt64(0, (long)max + 1))).ToArray();
        var msg = DecodeTestMessages.Message(1001, 1, new DecodeTestMessages.Field(packed, bits));
        var values = GribFile.Scan(msg)[0].Fields[0].DecodeValues();
        Assert.Equal(packed.Select(v => (double)v), values);
    }

    [Fact]
    public void Should_decode_into_caller_span_when_destination_has_the_right_length()
    {
        var msg = DecodeTestMessages.Message(2, 2, new DecodeTestMessages.Field([1, 2, 3, 4], 8));
        var field = GribFile.Scan(msg)[0].Fields[0];
        var buffer = new double[4];
        field.DecodeValues(buffer);
        Assert.Equal([1.0, 2, 3, 4], buffer);
        Assert.Throws<ArgumentException>(() => field.DecodeValues(new double[3]));
    }

    [Fact]
    public void Should_expand_runs_and_map_levels_when_decoding_jma_run_length()
    {
        // The worked example of JMBSC's run-length encoding note (8 bits, MV 250): levels then repeat digits.
        byte[] input = [3, 9, 12, 6, 4, 15, 2, 1, 0, 13, 12, 2, 3];
        uint[] expectedLevels = [3, 9, 9, 6, 4, 4, 4, 4, 4, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3];
        // As 8-bit words offset by 240: values ≤ 250 are levels 240..250 (we map them through a level table).
        var words = input.Select(b => (byte)(b + 240)).ToArray();
        var levels = 250;
        var s5Template = new List<byte> { 8, 0, 250, (byte)(levels >> 8), (byte)levels, 1 };
        for (var k = 1; k <= levels; k++) s5Template.AddRange([(byte)(k * 10 >> 8), (byte)(k * 10)]);
        var msg = DecodeTestMessages.Message(21, 1, new DecodeTestMessages.Field(new uint[21], 8));
        var patched = RunLengthMessage(msg, s5Template.ToArray(), words, 21);
        var values = GribFile.Scan(patched)[0].Fields[0].DecodeValues();
        var expected = expectedLevels.Select(l => (l + 240) * 10 * 0.1).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], values[i], 9);
    }

    [Fact]
    public void Should_read_values_that_straddle_bytes_when_bit_width_is_odd()
    {
        byte[] data = [0b1010_1100, 0b0101_0011, 0b1111_0000, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(0b101u, BitUnpack.Read(data, 0, 3));
        Assert.Equal(0b0_1100_0101u, BitUnpack.Read(data, 3, 9));
        Span<uint> dest = stackalloc uint[3];
        BitUnpack.Unpack(data, 0, 5, dest);
        Assert.Equal([0b10101u, 0b10001u, 0b01001u], dest.ToArray());
    }

    /// <summary>Rebuilds a one-field message with section 5 template 5.200 and the given section 7 words.</summary>
    private static byte[] RunLengthMessage(byte[] simple, byte[] template200, byte[] data, int values)
    {
        var m = GribFile.Scan(simple)[0];
        var f = m.Fields[0];
        var head = simple.AsSpan(0, (int)f.SectionOffset(5)).ToArray();
        var s5 = new byte[11 + template200.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s5, (uint)s5.Length);
        s5[4] = 5;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s5.AsSpan(5), (uint)values);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(s5.AsSpan(9), 200);
        template200.CopyTo(s5, 11);
        byte[] s6 = [0, 0, 0, 6, 6, 255];
        var s7 = new byte[5 + data.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s7, (uint)s7.Length);
        s7[4] = 7;
        data.CopyTo(s7, 5);
        byte[] result = [.. head, .. s5, .. s6, .. s7, .. "7777"u8.ToArray()];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(result.AsSpan(8), (ulong)result.Length);
        return result;
    }
}
