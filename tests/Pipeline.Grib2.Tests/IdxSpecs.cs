using System.Text.RegularExpressions;
using Pipeline.Grib2.Indexing;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Grib2.Tests;

public sealed class IdxSpecs
{
    private static readonly Regex Wgrib2Line = new(@"^\d+(\.\d+)?:\d+:d=\d{10}:[A-Za-z0-9_\-]+:[^:]+:[^:]+:.*$", RegexOptions.CultureInvariant);

    private const string Noaa = """
        1:0:d=2021051800:PRMSL:mean sea level:anl:
        2:990253:d=2021051800:CLWMR:1 hybrid level:anl:
        3:1207178:d=2021051800:TMP:500 mb:anl:
        4:1466700:d=2021051800:UGRD:500 mb:anl:
        4.2:1466700:d=2021051800:VGRD:500 mb:anl:
        5:2100000:d=2021051800:TMP:2 m above ground:anl:
        6:2200000:d=2021051800:APCP:surface:0-6 hour acc fcst:

        """;

    [SharedDataFact]
    public void Should_write_wgrib2_format_lines_when_indexing_a_GFS_file()
    {
        var path = GridTestSupport.Corpus("pygrib__gfs.t12z.pgrbf120.2p5deg.grib2");
        var messages = GribFile.Read(path);
        var text = Idx.Write(Inventory.Build(messages));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(messages.Sum(m => m.Fields.Count), lines.Length);
        Assert.All(lines, l => Assert.Matches(Wgrib2Line, l));
        Assert.Equal("1:0:d=2011011012:HGT:10 mb:120 hour fcst:", lines[0]);
        Assert.Contains("199:2561016:d=2011011012:APCP:surface:114-120 hour acc fcst:", lines);

        // Parse -> ranges round trip: every message's range is exactly its bytes; the last one runs to EOF.
        var parsed = Idx.Parse(text);
        var ranges = Idx.Ranges(parsed);
        foreach (var (line, range) in ranges.Where(r => r.Line.Field is null))
        {
            var msg = messages[line.Message - 1];
            Assert.Equal(msg.Offset, range.Start);
            if (line.Message == messages.Count) Assert.Null(range.End);
            else Assert.Equal(msg.Offset + msg.Length, range.End);
        }
        var bytes = File.ReadAllBytes(path);
        var tmp = Idx.Select(parsed, new Regex(":TMP:2 m above ground:"), bytes.Length);
        var one = Assert.Single(tmp);
        var fetched = GribFile.Scan(bytes.AsMemory((int)one.Start, (int)(one.End!.Value - one.Start)), one.Start);
        Assert.Equal("TMP", Inventory.Build(fetched).Single().Wgrib2Name);
    }

    [Fact]
    public void Should_give_byte_ranges_with_the_last_to_EOF_when_selecting_by_regex()
    {
        var lines = Idx.Parse(Noaa);
        Assert.Equal(7, lines.Count);
        Assert.Equal((4, (int?)2, 1466700L, "VGRD"), (lines[4].Message, lines[4].Field, lines[4].Offset, lines[4].Variable));

        var tmp = Idx.Select(lines, new Regex(":TMP:"), merge: false);
        Assert.Equal([new ByteRange(1207178, 1466700), new ByteRange(2100000, 2200000)], tmp);

        // u and v share one message: one range, ending at the next message.
        var wind = Idx.Select(lines, new Regex(":(UGRD|VGRD):500 mb:"));
        Assert.Equal([new ByteRange(1466700, 2100000)], wind);

        var last = Idx.Select(Noaa, ":APCP:");
        Assert.Equal([new ByteRange(2200000, null)], last);
        Assert.Equal("bytes=2200000-", last[0].ToHttpRange());

        // Adjacent messages merge into one request.
        var run = Idx.Select(lines, new Regex(":500 mb:"));
        Assert.Equal([new ByteRange(1207178, 2100000)], run);
        Assert.Equal("bytes=1207178-2099999", run[0].ToHttpRange());

        // With the file length known, the last range is closed.
        Assert.Equal(new ByteRange(2200000, 2300000), Idx.Select(lines, new Regex(":APCP:"), 2300000).Single());
    }

    [Theory]
    [InlineData("1:0:d=2021051800:TMP", "line 1")]
    [InlineData("x:0:d=2021051800:TMP:1 mb:anl:", "message number 'x'")]
    [InlineData("1:-5:d=2021051800:TMP:1 mb:anl:", "offset '-5'")]
    [InlineData("1:100:d=2021051800:TMP:1 mb:anl:\n2:50:d=2021051800:TMP:2 mb:anl:", "line 2: offset 50 goes back")]
    public void Should_name_the_line_when_parsing_a_broken_idx(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => Idx.Parse(text));
        Assert.Contains(expected, e.Message);
    }
}
