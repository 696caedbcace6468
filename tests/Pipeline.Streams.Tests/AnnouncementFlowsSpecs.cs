using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;
using Xunit;

namespace Pipeline.Streams.Tests;

public sealed class AnnouncementFlowsSpecs : Akka.TestKit.Xunit2.TestKit
{
    internal sealed class FakeCommittable(string body, string? topic = "v03.t") : ICommittable
    {
        private int _acks, _nacks;
        public string Body { get; } = body;
        public string? Topic { get; } = topic;
        public int Acks => _acks;
        public int Nacks => _nacks;
        public Task<bool> Ack() { Interlocked.Increment(ref _acks); return Task.FromResult(true); }
        public Task<bool> Nack(bool requeue) { Interlocked.Increment(ref _nacks); return Task.FromResult(true); }
    }

    private static string V03(string relPath) =>
        $$"""{"pubTime":"20251106T123456.789","baseUrl":"https://dd.example.org","relPath":"{{relPath}}","size":1}""";

    [Fact]
    public async Task Should_park_then_ack_rejections_ack_filtered_and_emit_the_rest_unacked_when_parsing_a_mixed_feed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dead-{Guid.NewGuid():N}.jsonl");
        using var dead = new FileDeadLetterStore(path);
        var filter = new AnnouncementFilter([FilterClause.RejectOn(@".*\.tmp$"), FilterClause.AcceptOn(@".*\.grib2$")], acceptUnmatched: false);
        var messages = new[]
        {
            new FakeCommittable(V03("a/1.grib2")), new FakeCommittable("garbage"), new FakeCommittable(V03("a/2.tmp")),
            new FakeCommittable("{\"pubTime\":1}"), new FakeCommittable(V03("a/3.txt")), new FakeCommittable(V03("a/4.grib2")),
        };
        var counters = new AnnouncementCounters();
        var emitted = await Source.From(messages)
            .Via(AnnouncementFlows.ParseFilterPark<FakeCommittable>(m => new InboundMessage("src", m.Topic, m.Body), AutoDetectParser.Instance,
                filter, dead, counters))
            .RunWith(Sink.Seq<CommittableAnnouncements>(), Sys.Materializer());

        Assert.Equal(["a/1.grib2", "a/4.grib2"], emitted.Select(e => e.Announcements.Single().RelPath));
        Assert.Equal([0, 1, 1, 1, 1, 0], messages.Select(m => m.Acks));
        Assert.All(messages, m => Assert.Equal(0, m.Nacks));
        var letters = new List<DeadLetter>();
        await foreach (var l in dead.ReadAllAsync()) letters.Add(l);
        Assert.Equal(["garbage", "{\"pubTime\":1}"], letters.Select(l => l.Body));
        Assert.Contains("'pubTime' must be a string", letters[1].Reason, StringComparison.Ordinal);
        Assert.Equal((2, 2, 2), (counters.Parsed, counters.Rejected, counters.Filtered));
        File.Delete(path);
    }
}
