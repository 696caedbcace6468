using Pipeline.Actors.Persistence;
using Xunit;

namespace Pipeline.Actors.Tests;

public sealed class PersistBatchSpecs
{
    [Fact]
    public void Should_apply_every_event_and_run_the_reply_once_after_the_last_when_a_batch_is_written()
    {
        var log = new List<string>();
        var callback = PersistBatch.ThenAfterLast<int>(3, e => log.Add($"apply {e}"), () => log.Add("reply"));

        foreach (var e in new[] { 1, 2, 3 }) callback(e);

        Assert.Equal(["apply 1", "apply 2", "apply 3", "reply"], log);
    }

    [Fact]
    public void Should_refuse_an_empty_batch_because_nothing_would_ever_reply()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PersistBatch.ThenAfterLast<int>(0, _ => { }, () => { }));
    }
}
