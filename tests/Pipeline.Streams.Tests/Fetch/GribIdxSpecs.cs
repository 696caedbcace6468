using Pipeline.Streams.Fetch;
using Xunit;

namespace Pipeline.Streams.Tests.Fetch;

public sealed class GribIdxSpecs
{
    private const string Inventory =
        "1:0:d=2026110100:PRMSL:mean sea level:anl:\n" +
        "2:1000:d=2026110100:TMP:2 m above ground:anl:\n" +
        "3:2500:d=2026110100:UGRD:10 m above ground:anl:\n" +
        "3.2:2500:d=2026110100:VGRD:10 m above ground:anl:\n" +
        "4:4000:d=2026110100:TMP:500 mb:anl:\n";

    [Fact]
    public void Should_parse_every_field_when_lines_are_wgrib2_inventory()
    {
        var entries = GribIdx.Parse(Inventory);

        Assert.Equal(5, entries.Count);
        Assert.Equal(new GribIdxEntry("2", 1000, "2026110100", "TMP", "2 m above ground", "anl", "2:1000:d=2026110100:TMP:2 m above ground:anl:"), entries[1]);
        Assert.Equal("3.2", entries[3].Number);
    }

    [Fact]
    public void Should_select_and_merge_adjacent_ranges_when_several_messages_match()
    {
        var entries = GribIdx.Parse(Inventory);

        Assert.Equal([new ByteRange(1000, 2499), new ByteRange(4000, null)], GribIdx.Select(entries, ":TMP:"));
        Assert.Equal([new ByteRange(1000, 3999)], GribIdx.Select(entries, ":(TMP:2 m above ground|UGRD):"));
        Assert.Equal([new ByteRange(2500, 3999)], GribIdx.Select(entries, ":VGRD:"));
        Assert.Equal([new ByteRange(4000, 4999)], GribIdx.Select(entries, ":500 mb:", fileLength: 5000));
        Assert.Empty(GribIdx.Select(entries, ":RH:"));
    }

    [Theory]
    [InlineData("1:0:d=2026110100:TMP\n", "line 1")]
    [InlineData("1:abc:d=2026110100:TMP:2 m:anl:\n", "offset 'abc'")]
    [InlineData("1:0:2026110100:TMP:2 m:anl:\n", "'d='")]
    [InlineData("1:100:d=2026110100:TMP:2 m:anl:\n2:50:d=2026110100:TMP:2 m:anl:\n", "line 2: offset 50 goes backwards")]
    [InlineData("\n\n", "no inventory lines")]
    public void Should_name_the_line_and_the_problem_when_the_idx_is_malformed(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => GribIdx.Parse(text, "x.idx"));

        Assert.Contains(expected, e.Message);
        Assert.StartsWith("x.idx", e.Message);
    }
}
