using Pipeline.Actors.Contracts;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class IdsSpecs
{
    [Fact]
    public void Should_write_and_read_the_run_id_when_formatted_as_dataset_slash_reftime()
    {
        Assert.Equal("test.model/2026-11-01T00Z", Run.ToString());
        Assert.Equal(Run, ModelRunId.Parse("test.model/2026-11-01T00Z"));
        var halfPast = Run with { ReferenceTime = RefTime.AddMinutes(30) };
        Assert.Equal("test.model/2026-11-01T00:30Z", halfPast.ToString());
        Assert.Equal(halfPast, ModelRunId.Parse(halfPast.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-time")]
    [InlineData("a/b/2026-11-01T00Z")]
    [InlineData("ds/2026-13-01T00Z")]
    [InlineData("/2026-11-01T00Z")]
    [InlineData("ds/")]
    public void Should_refuse_to_parse_when_the_run_id_is_malformed(string text)
    {
        Assert.False(ModelRunId.TryParse(text, out _));
        var e = Assert.Throws<FormatException>(() => ModelRunId.Parse(text));
        Assert.Contains("model run id", e.Message);
    }

    [Fact]
    public void Should_refuse_a_dataset_id_when_it_is_empty_or_has_a_slash()
    {
        Assert.Throws<ArgumentException>(() => new DatasetId(" "));
        Assert.Contains("'/'", Assert.Throws<ArgumentException>(() => new DatasetId("a/b")).Message);
    }

    [Fact]
    public void Should_identify_a_file_by_data_id_and_checksum_or_publication_time_when_none_is_announced()
    {
        var a = Announcement("TMP", 0, "xyz");
        Assert.Equal(new FileId(a.DataId, "sha256:xyz"), FileId.Of(a));
        var noChecksum = a with { Integrity = null };
        Assert.Equal("pub:2026-11-01T00:00:00.0000000+00:00", FileId.Of(noChecksum).Checksum);
    }
}
