using Xunit;

namespace Pipeline.Grib2.Tests;

/// <summary>A file scanned through a memory mapping: the same messages and values as reading it, nothing left mapped.</summary>
public sealed class MappedGribFileSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mapped-grib-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Sample(int seed) =>
        DecodeTestMessages.Message(4, 3, new DecodeTestMessages.Field([.. Enumerable.Range(seed, 12).Select(i => (uint)i)], 8));

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Should_find_the_messages_and_values_of_read_when_the_file_is_mapped()
    {
        var path = Write("two.grib2", [.. "junk"u8.ToArray(), .. Sample(0), 1, 2, .. Sample(5)]);
        var read = GribFile.Read(path);
        using var mapped = MappedGribFile.Open(path);
        Assert.Equal(path, mapped.Path);
        Assert.Equal(read.Select(m => (m.Offset, m.Length)), mapped.Messages.Select(m => (m.Offset, m.Length)));
        for (var i = 0; i < read.Count; i++)
            Assert.Equal(read[i].Fields[0].DecodeValues(), mapped.Messages[i].Fields[0].DecodeValues());
    }

    [Fact]
    public void Should_find_no_message_when_the_file_is_empty()
    {
        using var mapped = MappedGribFile.Open(Write("empty.grib2", []));
        Assert.Empty(mapped.Messages);
    }

    [Fact]
    public void Should_throw_naming_the_offset_and_unmap_when_a_message_is_truncated()
    {
        var whole = Sample(0);
        var path = Write("cut.grib2", [.. "xx"u8.ToArray(), .. whole.AsSpan(0, whole.Length - 10)]);
        var e = Assert.Throws<GribFormatException>(() => MappedGribFile.Open(path));
        Assert.Contains("truncated", e.Message);
        Assert.Equal(2, e.Offset);
        // Unmapped and closed: the file can be replaced and mapped again.
        File.WriteAllBytes(path, whole);
        using var again = MappedGribFile.Open(path);
        Assert.Single(again.Messages);
    }

    [Fact]
    public void Should_refuse_to_give_the_bytes_when_disposed()
    {
        var mapped = MappedGribFile.Open(Write("one.grib2", Sample(0)));
        var bytes = mapped.Messages[0].Bytes;
        mapped.Dispose();
        mapped.Dispose();
        Assert.Throws<ObjectDisposedException>(() => bytes.Span.Length);
    }
}
