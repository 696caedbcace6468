using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Xunit;

namespace Pipeline.Streams.Tests;

public sealed class AnnouncementFilterSpecs
{
    private static Announcement At(string relPath, string? topic = "v02.post.x") =>
        new("s", AnnouncementFormats.SarraceniaV03, relPath, new Uri("https://h.org/" + relPath), relPath, topic, null, null, DateTimeOffset.UnixEpoch, "");

    [Fact]
    public void Should_let_the_first_matching_clause_decide_when_several_match()
    {
        var f = new AnnouncementFilter([FilterClause.RejectOn(".*_P000.*"), FilterClause.AcceptOn(@".*\.grib2"), FilterClause.RejectOn(".*")], acceptUnmatched: false);
        Assert.False(f.Evaluate(At("a/CMC_glb_P000.grib2")).Accepted);
        var v = f.Evaluate(At("a/CMC_glb_P003.grib2"));
        Assert.True(v.Accepted);
        Assert.Equal(@".*\.grib2", v.DecidedBy!.Pattern);
        Assert.False(f.Evaluate(At("a/readme.txt")).Accepted);
    }

    [Fact]
    public void Should_use_accept_unmatched_when_no_clause_matches()
    {
        Assert.True(new AnnouncementFilter([FilterClause.RejectOn(".*tmp")], acceptUnmatched: true).Evaluate(At("x.grib2")).Accepted);
        var no = new AnnouncementFilter([FilterClause.AcceptOn(".*tmp")], acceptUnmatched: false).Evaluate(At("x.grib2"));
        Assert.False(no.Accepted);
        Assert.Null(no.DecidedBy);
    }

    [Fact]
    public void Should_anchor_at_the_start_only_as_python_re_match_does()
    {
        var f = new AnnouncementFilter([FilterClause.AcceptOn("grib2")], acceptUnmatched: false);
        Assert.False(f.Evaluate(At("a/x.grib2")).Accepted);
        Assert.True(f.Evaluate(At("grib2/x.nc")).Accepted);
    }

    [Fact]
    public void Should_match_on_the_topic_when_asked_and_never_on_a_missing_topic()
    {
        var f = new AnnouncementFilter([FilterClause.AcceptOn(@"v02\.post\..*", FilterTarget.Topic)], acceptUnmatched: false);
        Assert.True(f.Evaluate(At("a", "v02.post.20251106")).Accepted);
        Assert.False(f.Evaluate(At("a", null)).Accepted);
    }

    [Fact]
    public void Should_name_the_clause_when_a_pattern_is_invalid()
    {
        var e = Assert.Throws<ArgumentException>(() => new AnnouncementFilter([FilterClause.AcceptOn("ok"), FilterClause.RejectOn("(unclosed")]));
        Assert.Contains("filter clause 1 ('(unclosed')", e.Message, StringComparison.Ordinal);
    }
}
