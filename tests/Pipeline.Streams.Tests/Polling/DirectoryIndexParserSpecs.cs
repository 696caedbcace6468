using Xunit;
using static Pipeline.Streams.Tests.Polling.IndexPages;

namespace Pipeline.Streams.Tests.Polling;

public sealed class DirectoryIndexParserSpecs
{
    private static readonly DateTime T = new(2025, 11, 6, 3, 41, 0, DateTimeKind.Utc);

    private static readonly Listed[] Tree =
    [
        new("000/", T),
        new("CMC_glb_TMP_TGL_2_latlon.15x.15_2025110600_P000.grib2", T.AddMinutes(1), 1_234_567),
        new("small file.txt", T.AddMinutes(2), 512),
    ];

    [Theory]
    [InlineData(Style.ApacheTable)]
    [InlineData(Style.ApachePre)]
    [InlineData(Style.Nginx)]
    public void Should_list_directories_files_times_and_sizes_when_reading_each_server_layout(Style style)
    {
        var entries = Pipeline.Streams.Polling.DirectoryIndexParser.Parse(Render(style, "/today/model_gem_global/", Tree));

        // Sorting links and the parent link are not entries of the tree; the parent is dropped later, by path.
        var names = entries.Select(e => e.Href).Where(h => !h.StartsWith('/') && h != "../").ToList();
        Assert.Equal(["000/", "CMC_glb_TMP_TGL_2_latlon.15x.15_2025110600_P000.grib2", "small%20file.txt"], names);
        var dir = entries.Single(e => e.Href == "000/");
        Assert.True(dir.IsDirectory);
        Assert.Equal(new DateTimeOffset(T), dir.Modified);
        var grib = entries.Single(e => e.Href.EndsWith(".grib2", StringComparison.Ordinal));
        Assert.False(grib.IsDirectory);
        Assert.Equal(new DateTimeOffset(T.AddMinutes(1)), grib.Modified);
        // nginx lists bytes; Apache abbreviates above 1 KiB.
        Assert.Equal(style == Style.Nginx ? 1_234_567L : null, grib.ExactSize);
        Assert.Equal(style == Style.Nginx ? "1234567" : "1.2M", grib.SizeText);
        Assert.Equal(512, entries.Single(e => e.Href == "small%20file.txt").ExactSize);
    }

    [Fact]
    public void Should_keep_what_it_can_read_when_the_markup_is_broken()
    {
        const string html = """
            <html><body><pre><a href="good.grib2">good.grib2</a>   06-Nov-2025 03:41   42
            <a href='single.grib2'>single</a 06-Nov-2025 03:42 7
            <a href=bare.grib2>bare</a>
            <a>no href</a> <a href="">empty</a> <a href="#top">top</a> <a href="javascript:alert(1)">x</a>
            <a href="mailto:root@example.org">mail</a> <a href="x.grib2?download=1">query</a>
            <a href="good.grib2">again</a>
            <a href="2025-11-06 12:00.txt">2025-11-06 12:00.txt</a>
            <a href="unterminated.grib2
            """;

        var entries = Pipeline.Streams.Polling.DirectoryIndexParser.Parse(html);

        Assert.Equal(["good.grib2", "single.grib2", "bare.grib2", "2025-11-06 12:00.txt"], entries.Select(e => e.Href));
        Assert.Equal(42, entries[0].ExactSize);
        Assert.Null(entries[2].Modified);
        Assert.Null(entries[3].Modified); // a date-shaped name is not the row's date
    }

    [Fact]
    public void Should_return_nothing_when_the_page_is_not_an_index()
    {
        Assert.Empty(Pipeline.Streams.Polling.DirectoryIndexParser.Parse(""));
        Assert.Empty(Pipeline.Streams.Polling.DirectoryIndexParser.Parse("\0\0\u00ff<<<>>><a <a <a href"));
        Assert.Empty(Pipeline.Streams.Polling.DirectoryIndexParser.Parse(new string('<', 200_000)));
    }
}
