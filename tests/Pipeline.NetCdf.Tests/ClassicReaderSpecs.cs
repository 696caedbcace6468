using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Pipeline.NetCdf.References;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>The NetCDF-3 reader on files built byte by byte here (no Python needed), and on hostile input.</summary>
public sealed class ClassicReaderSpecs : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"netcdf-classic-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public ClassicReaderSpecs() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Should_give_one_range_per_record_when_variables_use_the_record_dimension()
    {
        var (bytes, begins) = TwoRecordFile();
        var path = Write("hand.nc", bytes);
        using var file = NetCdfFile.Open(path);
        Assert.Equal(NetCdfFormat.Classic, file.Format);
        Assert.Equal(new NcDimension("time", 2, true), file.Dimensions[0]);
        Assert.Equal("hi", Assert.Single(file.Attributes).Value);
        var a = file.Variable("a");
        Assert.Equal(["time", "x"], a.Dimensions);
        Assert.Equal([1, 3], a.Storage!.ChunkShape);
        Assert.Equal([begins.A, begins.A + 12], a.Storage.Chunks.Select(c => c.Offset));
        Assert.All(a.Storage.Chunks, c => Assert.Equal(6, c.Length));
        var b = file.Variable("b");
        Assert.Equal([begins.B, begins.B + 12], b.Storage!.Chunks.Select(c => c.Offset));
        Assert.Equal([1, 2, 3, 4, 5, 6], MemoryMarshal.Cast<byte, short>(file.ReadValues(a)).ToArray());
        Assert.Equal([10, 20], MemoryMarshal.Cast<byte, int>(file.ReadValues(b)).ToArray());
        Assert.Equal([0.5f, 1.5f, 2.5f], MemoryMarshal.Cast<byte, float>(file.ReadValues(file.Variable("x"))).ToArray());

        var refs = NetCdfReferences.Build(file, "file:///data/hand.nc", new ReferenceOptions { InlineThreshold = 0, InlineCoordinateLimit = 0 }).References;
        Assert.Equal(KerchunkRange(begins.A + 12, 6), (refs["a/1.0"].Offset, refs["a/1.0"].Length));
        Assert.Contains("\">i2\"", refs["a/.zarray"].InlineText, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_mark_only_the_cut_variables_when_the_data_is_truncated()
    {
        var (bytes, begins) = TwoRecordFile();
        var path = Write("cut.nc", bytes[..(int)(begins.A + 14)]);
        using var file = NetCdfFile.Open(path);
        Assert.NotNull(file.Variable("x").Storage);
        Assert.Contains("truncated", file.Variable("a").Problem, StringComparison.Ordinal);
        var result = NetCdfReferences.Build(file, path);
        Assert.Equal(VariableOutcome.Failed, result.Outcomes["b"]);
        Assert.NotEqual(VariableOutcome.Failed, result.Outcomes["x"]);
    }

    [Fact]
    public void Should_say_where_when_the_header_is_truncated()
    {
        var (bytes, _) = TwoRecordFile();
        var path = Write("header.nc", bytes[..40]);
        var e = Assert.Throws<InvalidDataException>(() => NetCdfFile.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("header is truncated", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text.nc", "this is not netcdf at all")]
    [InlineData("empty.nc", "")]
    [InlineData("cdf9.nc", "CDF\u0009rest")]
    public void Should_refuse_with_the_file_name_when_the_file_is_not_netcdf(string name, string content)
    {
        var path = Write(name, Encoding.ASCII.GetBytes(content));
        var e = Assert.Throws<InvalidDataException>(() => NetCdfFile.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("not a NetCDF file", e.Message, StringComparison.Ordinal);
        Assert.False(NetCdfFile.IsNetCdf(path));
    }

    [Fact]
    public void Should_refuse_an_impossible_count_when_the_header_is_hostile()
    {
        var (bytes, _) = TwoRecordFile();
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), int.MaxValue); // number of dimensions
        var path = Write("hostile.nc", bytes);
        var e = Assert.Throws<InvalidDataException>(() => NetCdfFile.Open(path));
        Assert.Contains("byte 12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_cut_edges_and_pad_with_the_fill_value_when_splitting_into_chunks()
    {
        var values = Enumerable.Range(0, 5 * 7).Select(i => (short)i).ToArray();
        var chunks = ChunkGrid.Split(MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), [5, 7], [2, 3], 2, BitConverter.GetBytes((short)-1)).ToList();
        Assert.Equal(3 * 3, chunks.Count);
        var last = chunks.Single(c => c.Index.SequenceEqual(new long[] { 2, 2 }));
        Assert.Equal(new short[] { 34, -1, -1, -1, -1, -1 }, MemoryMarshal.Cast<byte, short>(last.Raw).ToArray());
        var middle = chunks.Single(c => c.Index.SequenceEqual(new long[] { 1, 1 }));
        Assert.Equal(new short[] { 17, 18, 19, 24, 25, 26 }, MemoryMarshal.Cast<byte, short>(middle.Raw).ToArray());
    }

    private static (long, long?) KerchunkRange(long offset, long length) => (offset, length);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>CDF-1: dims time (record, 2 records) and x(3); x float(x); a short(time, x); b int(time).</summary>
    internal static (byte[] Bytes, (long A, long B) Begins) TwoRecordFile()
    {
        var h = new List<byte>();
        void I(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); h.AddRange(b); }
        void Name(string s) { I(s.Length); h.AddRange(Encoding.ASCII.GetBytes(s)); while (h.Count % 4 != 0) h.Add(0); }
        h.AddRange("CDF\u0001"u8.ToArray());
        I(2);
        I(0x0A); I(2); Name("time"); I(0); Name("x"); I(3);
        I(0x0C); I(1); Name("title"); I(2); I(2); h.AddRange("hi"u8.ToArray()); h.Add(0); h.Add(0);
        I(0x0B); I(3);
        var beginSlots = new List<int>();
        void Var(string name, int[] dims, int type, int vsize)
        {
            Name(name); I(dims.Length); foreach (var d in dims) I(d); I(0); I(0); I(type); I(vsize);
            beginSlots.Add(h.Count); I(0);
        }
        Var("x", [1], 5, 12);
        Var("a", [0, 1], 3, 8);
        Var("b", [0], 4, 4);
        var header = h.Count;
        var bx = header;
        var ba = bx + 12;
        var bb = ba + 8;
        var bytes = new byte[bb + 4 + 12];
        h.CopyTo(bytes);
        foreach (var (slot, begin) in beginSlots.Zip(new[] { bx, ba, bb })) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(slot), begin);
        for (var i = 0; i < 3; i++) BinaryPrimitives.WriteSingleBigEndian(bytes.AsSpan(bx + 4 * i), 0.5f + i);
        for (var r = 0; r < 2; r++)
        {
            for (var i = 0; i < 3; i++) BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(ba + 12 * r + 2 * i), (short)(1 + 3 * r + i));
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(bb + 12 * r), 10 * (r + 1));
        }
        return (bytes, (ba, bb));
    }
}
