using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Amqp;
using Pipeline.Streams.Announcements;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests;

/// <summary>Park, fix, replay: dead letters go back through the real broker and the source's current filter.</summary>
[Collection(BrokerCollection.Name)]
public sealed class DeadLetterReplaySpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private static string V03(string relPath) =>
        $$"""{"pubTime":"20251106T123456.789","baseUrl":"https://dd.example.org","relPath":"{{relPath}}","size":42}""";

    private UniqueKillSwitch Run(AmqpConnectionProvider connections, AmqpSourceSettings settings, AnnouncementFilter filter,
        IDeadLetterStore dead, ConcurrentQueue<Announcement> received) =>
        AmqpSource.Announcements(connections, settings, "datamart", AutoDetectParser.Instance, filter, dead, parkFiltered: true)
            .ViaMaterialized(KillSwitches.Single<CommittableAnnouncements>(), Keep.Right)
            .SelectAsync(1, async c =>
            {
                foreach (var a in c.Announcements) received.Enqueue(a);
                return await c.Ack();
            })
            .To(Sink.Ignore<bool>())
            .Run(Sys.Materializer());

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_process_and_remove_replayed_letters_and_repark_the_still_bad_ones_when_the_filter_was_fixed()
    {
        var exchange = BrokerFixtures.Unique("xpublic");
        var queue = BrokerFixtures.Unique("q_replay");
        await BrokerFixtures.DeclareAsync(exchange, queue, "v03.#");
        var path = Path.Combine(Path.GetTempPath(), BrokerFixtures.Unique("dead") + ".jsonl");
        using var dead = new FileDeadLetterStore(path);
        IDeadLetterStore store = dead;
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var settings = new AmqpSourceSettings(queue, exchange, ["v03.#"], 20);
        var received = new ConcurrentQueue<Announcement>();
        // The mistake: a filter that refuses the model's .grib2 files.
        var wrong = new AnnouncementFilter([FilterClause.AcceptOn(@".*\.nc$")], acceptUnmatched: false);
        var kill = Run(connections, settings, wrong, dead, received);
        try
        {
            await BrokerFixtures.WaitUntilAsync(() => BrokerFixtures.ConsumingAsync(queue), Deadline, () => "queue consumed");
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.model", V03("model/a.nc"));
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.model.gdps", V03("model/gdps/b.grib2"), false, "source: WXO-DD");
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.model.gdps", V03("model/gdps/c.grib2"));
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.bad", "{\"pubTime\":\"20251106T123456\",\"baseUrl\":\"https://x.org\"}");
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.bad", "not a message");

            await BrokerFixtures.WaitUntilAsync(async () => received.Count == 1 && (await store.ListAsync()).Total == 4, Deadline,
                () => $"{received.Count} received");
            await BrokerFixtures.WaitUntilAsync(async () => await BrokerFixtures.ReadyAsync(queue) == 0, Deadline, () => "all acked");
            var parked = (await store.ListAsync()).Letters;
            Assert.Equal(2, parked.Count(l => l.Reason.StartsWith("filtered: no clause matched", StringComparison.Ordinal)));
            Assert.Equal("WXO-DD", parked.Single(l => l.Body.Contains("b.grib2", StringComparison.Ordinal)).Headers!["source"]);
        }
        finally
        {
            kill.Shutdown();
        }

        // The fix: the source runs again with the right filter, and every parked letter is replayed through the broker.
        // It consumes a fresh queue on the same exchange: an ack of the first run still in flight when it was shut
        // down makes the broker redeliver that message on the first queue (at least once, by design), which must
        // not be mistaken for a replayed one.
        await BrokerFixtures.DeleteQueueAsync(queue);
        queue = BrokerFixtures.Unique("q_replay");
        await BrokerFixtures.DeclareAsync(exchange, queue, "v03.#");
        settings = settings with { Queue = queue };
        var fixedFilter = new AnnouncementFilter([FilterClause.AcceptOn(@".*\.(nc|grib2)$")], acceptUnmatched: false);
        kill = Run(connections, settings, fixedFilter, dead, received);
        try
        {
            var before = (await store.ListAsync()).Letters.Select(l => l.Id!).ToHashSet();
            await using var republisher = new AmqpDeadLetterRepublisher(connections, exchange);

            var report = await DeadLetterReplay.ReplayAsync(store, null, republisher.RepublishAsync);

            Assert.Equal((4, 4), (report.Selected, report.Replayed));
            Assert.Empty(report.Failed);
            await BrokerFixtures.WaitUntilAsync(async () => received.Count == 3 && (await store.ListAsync()).Total == 2, Deadline,
                () => $"{received.Count} received");
            await BrokerFixtures.WaitUntilAsync(async () => await BrokerFixtures.ReadyAsync(queue) == 0, Deadline, () => "all acked");
            Assert.Equal(["model/a.nc", "model/gdps/b.grib2", "model/gdps/c.grib2"], received.Select(a => a.RelPath).Order());
            Assert.Equal("v03.model.gdps", received.Single(a => a.RelPath.EndsWith("b.grib2", StringComparison.Ordinal)).Topic);
            // Nothing lost: the two malformed ones are parked again, as new letters; the replayed originals are gone.
            var left = (await store.ListAsync()).Letters;
            Assert.Equal(["not a message", "{\"pubTime\":\"20251106T123456\",\"baseUrl\":\"https://x.org\"}"], left.Select(l => l.Body).Order());
            Assert.All(left, l => Assert.DoesNotContain(l.Id!, before));
            Assert.All(left, l => Assert.False(l.Reason.StartsWith("filtered", StringComparison.Ordinal)));

            // Replaying only what matches a query: the still-malformed ones stay parked when the resend fails.
            var partial = await DeadLetterReplay.ReplayAsync(store, new DeadLetterQuery(ReasonContains: "relPath"),
                (_, _) => throw new InvalidOperationException("broker unavailable"));
            Assert.Equal((1, 0, 1), (partial.Selected, partial.Replayed, partial.Failed.Count));
            Assert.Contains("broker unavailable", partial.Failed[0].Reason, StringComparison.Ordinal);
            Assert.Equal(2, (await store.ListAsync()).Total);
        }
        finally
        {
            kill.Shutdown();
            await BrokerFixtures.DeleteQueueAsync(queue);
            File.Delete(path);
        }
    }

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_keep_a_letter_parked_and_say_why_when_it_has_no_routing_key()
    {
        var store = new InMemoryDeadLetterStore();
        await store.ParkAsync(new DeadLetter("sqs", "s3-event: bad", DateTimeOffset.UtcNow, null, "{}"));
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        await using var republisher = new AmqpDeadLetterRepublisher(connections, "xpublic");

        var report = await DeadLetterReplay.ReplayAsync(store, null, republisher.RepublishAsync);

        Assert.Equal(0, report.Replayed);
        Assert.Contains("has no routing key", Assert.Single(report.Failed).Reason, StringComparison.Ordinal);
        Assert.Single(store.Letters);
    }
}
