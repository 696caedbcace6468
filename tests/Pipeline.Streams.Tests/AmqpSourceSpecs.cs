using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Amqp;
using Pipeline.Streams.Announcements;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests;

[Collection(BrokerCollection.Name)]
public sealed class AmqpSourceSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private static string V03(string relPath) =>
        $$"""{"pubTime":"20251106T123456.789","baseUrl":"https://dd.example.org","relPath":"{{relPath}}","identity":{"method":"md5","value":"U1vVZnatrCeK3bLrXshb2g=="},"size":42}""";

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_deliver_v02_and_v03_posts_from_amqp_publish_as_announcements_when_bound_to_the_exchange()
    {
        var exchange = BrokerFixtures.Unique("xpublic");
        var queue = BrokerFixtures.Unique("q_anonymous.subscribe");
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var dead = new InMemoryDeadLetterStore();
        var received = new ConcurrentQueue<Announcement>();
        var settings = new AmqpSourceSettings(queue, exchange, ["v02.post.#", "v03.#"], Prefetch: 10) { DeclareExchange = true };
        var kill = AmqpSource.Announcements(connections, settings, "datamart", AutoDetectParser.Instance, AnnouncementFilter.AcceptAll, dead)
            .ViaMaterialized(KillSwitches.Single<CommittableAnnouncements>(), Keep.Right)
            .SelectAsync(1, async c =>
            {
                foreach (var a in c.Announcements) received.Enqueue(a);
                await c.Ack();
                return c;
            })
            .To(Sink.Ignore<CommittableAnnouncements>())
            .Run(Sys.Materializer());
        try
        {
            await BrokerFixtures.WaitUntilAsync(() => BrokerFixtures.ConsumingAsync(queue), Deadline, () => "queue declared, bound and consumed");
            await BrokerFixtures.AmqpPublishAsync(exchange, "v02.post.20230527.WXO-DD.model_gem_regional.10km.grib2.12.037",
                "20230527145520.791 https://hpfx.collab.science.gc.ca /20230527/WXO-DD/model_gem_regional/10km/grib2/12/037/CMC_reg_WIND_ISBL_30_ps10km_2023052712_P037.grib2",
                false, "sum: d,535bd56676adac278addb2eb5ec85bda", "parts: 1,554100,1,0,0", "source: WXO-DD", "from_cluster: DDSR.CMC");
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.20251106.WXO-DD.model", V03("20251106/WXO-DD/model/a.grib2"));
            await BrokerFixtures.AmqpPublishAsync(exchange, "other.topic", V03("never/bound.grib2"));

            await BrokerFixtures.WaitUntilAsync(() => received.Count >= 2, Deadline, () => $"{received.Count} received");
            var v02 = Assert.Single(received, a => a.Format == AnnouncementFormats.SarraceniaV02);
            Assert.Equal(554100, v02.Size);
            Assert.Equal("U1vVZnatrCeK3bLrXshb2g==", v02.Integrity!.Value);
            Assert.Equal("v02.post.20230527.WXO-DD.model_gem_regional.10km.grib2.12.037", v02.Topic);
            var v03 = Assert.Single(received, a => a.Format == AnnouncementFormats.SarraceniaV03);
            Assert.Equal(new Uri("https://dd.example.org/20251106/WXO-DD/model/a.grib2"), v03.Location);
            Assert.Empty(dead.Letters);
            await BrokerFixtures.WaitUntilAsync(async () => await BrokerFixtures.ReadyAsync(queue) == 0, Deadline, () => "queue drained");
        }
        finally
        {
            kill.Shutdown();
            await BrokerFixtures.DeleteQueueAsync(queue);
        }
    }

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_park_with_reason_and_ack_when_messages_are_malformed()
    {
        var exchange = BrokerFixtures.Unique("xpublic");
        var queue = BrokerFixtures.Unique("q_malformed");
        await BrokerFixtures.DeclareAsync(exchange, queue, "#");
        var path = Path.Combine(Path.GetTempPath(), BrokerFixtures.Unique("dead") + ".jsonl");
        using var dead = new FileDeadLetterStore(path);
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var good = new ConcurrentQueue<Announcement>();
        var kill = AmqpSource.Announcements(connections, new AmqpSourceSettings(queue, exchange, ["#"], 20), "feed",
                AutoDetectParser.Instance, AnnouncementFilter.AcceptAll, dead)
            .ViaMaterialized(KillSwitches.Single<CommittableAnnouncements>(), Keep.Right)
            .SelectAsync(1, async c => { foreach (var a in c.Announcements) good.Enqueue(a); return await c.Ack(); })
            .To(Sink.Ignore<bool>())
            .Run(Sys.Materializer());
        try
        {
            string[] bad =
            [
                "not a message at all",
                "{\"pubTime\":\"20251106T123456\",\"baseUrl\":\"https://x.org\"}",
                "{\"pubTime\":\"yesterday\",\"baseUrl\":\"https://x.org\",\"relPath\":\"a\"}",
                "{\"pubTime\":\"20251106T123456\",\"baseUrl\":\"https://x.org\",\"relPath\":\"a\",\"identity\":{\"method\":\"md5\",\"value\":\"zz\"}}",
                "20251106123456 https://x.org",
                "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}",
                "{\"type\":\"Feature\",\"properties\":{\"data_id\":\"x\",\"pubtime\":\"2025-01-01T00:00:00Z\"},\"links\":[]}",
                "{\"truncated\":",
            ];
            foreach (var b in bad) await BrokerFixtures.AmqpPublishAsync(exchange, "v03.bad", b);
            await BrokerFixtures.AmqpPublishAsync(exchange, "v03.good", V03("ok/file.grib2"));

            await BrokerFixtures.WaitUntilAsync(() => good.Count == 1 && CountLines(path) == bad.Length, Deadline,
                () => $"{good.Count} good, {CountLines(path)} parked");
            var letters = new List<DeadLetter>();
            await foreach (var l in dead.ReadAllAsync()) letters.Add(l);
            Assert.Equal(bad.OrderBy(x => x), letters.Select(l => l.Body).OrderBy(x => x));
            Assert.All(letters, l => Assert.False(string.IsNullOrWhiteSpace(l.Reason)));
            Assert.Contains(letters, l => l.Reason.Contains("'relPath' is missing", StringComparison.Ordinal));
            Assert.Contains(letters, l => l.Reason.Contains("'pubTime' is not a time", StringComparison.Ordinal));
            Assert.Contains(letters, l => l.Reason.Contains("identity", StringComparison.Ordinal));
            Assert.All(letters, l => Assert.Equal("feed", l.Source));
            await BrokerFixtures.WaitUntilAsync(async () => await BrokerFixtures.ReadyAsync(queue) == 0, Deadline, () => "all acked");
        }
        finally
        {
            kill.Shutdown();
            await BrokerFixtures.DeleteQueueAsync(queue);
            File.Delete(path);
        }
    }

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_hold_at_most_prefetch_unacked_and_share_one_connection_when_downstream_does_not_ack()
    {
        var exchange = BrokerFixtures.Unique("xpublic");
        var queueA = BrokerFixtures.Unique("q_a");
        var queueB = BrokerFixtures.Unique("q_b");
        await BrokerFixtures.DeclareAsync(exchange, queueA, "a.#");
        await BrokerFixtures.DeclareAsync(exchange, queueB, "b.#");
        await BrokerFixtures.AmqpPublishAsync(exchange, "a.x", string.Join('\n', Enumerable.Range(0, 100).Select(i => V03($"a/{i}")) ) + "\n", lines: true);
        await BrokerFixtures.AmqpPublishAsync(exchange, "b.x", V03("b/0"));
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var held = new ConcurrentQueue<CommittableAmqpMessage>();
        var heldB = new ConcurrentQueue<CommittableAmqpMessage>();
        var killA = AmqpSource.Committable(connections, new AmqpSourceSettings(queueA, exchange, ["a.#"], Prefetch: 7))
            .ViaMaterialized(KillSwitches.Single<CommittableAmqpMessage>(), Keep.Right)
            .To(Sink.ForEach<CommittableAmqpMessage>(held.Enqueue)).Run(Sys.Materializer());
        var killB = AmqpSource.Committable(connections, new AmqpSourceSettings(queueB, exchange, ["b.#"], Prefetch: 7))
            .ViaMaterialized(KillSwitches.Single<CommittableAmqpMessage>(), Keep.Right)
            .To(Sink.ForEach<CommittableAmqpMessage>(heldB.Enqueue)).Run(Sys.Materializer());
        try
        {
            await BrokerFixtures.WaitUntilAsync(async () => held.Count == 7 && heldB.Count == 1 && await BrokerFixtures.ReadyAsync(queueA) == 93,
                Deadline, () => $"{held.Count} held from A, {heldB.Count} from B");
            Assert.Equal(1, connections.ConnectionsOpened);
            // Acking three lets exactly three more in.
            foreach (var m in held.Take(3)) Assert.True(await m.Ack());
            await BrokerFixtures.WaitUntilAsync(async () => held.Count == 10 && await BrokerFixtures.ReadyAsync(queueA) == 90,
                Deadline, () => $"{held.Count} held after 3 acks");
            Assert.Equal(7, held.Select(m => m.BodyText).Distinct().Count() - 3);
        }
        finally
        {
            killA.Shutdown();
            killB.Shutdown();
            await BrokerFixtures.DeleteQueueAsync(queueA);
            await BrokerFixtures.DeleteQueueAsync(queueB);
        }
    }

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_redeliver_what_was_not_acked_when_a_source_stops_and_another_starts()
    {
        var exchange = BrokerFixtures.Unique("xpublic");
        var queue = BrokerFixtures.Unique("q_redeliver");
        await BrokerFixtures.DeclareAsync(exchange, queue, "#");
        await BrokerFixtures.AmqpPublishAsync(exchange, "v03.x", string.Join('\n', Enumerable.Range(0, 10).Select(i => V03($"r/{i}"))) + "\n", lines: true);
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var settings = new AmqpSourceSettings(queue, exchange, ["#"], Prefetch: 10) { DrainTimeout = TimeSpan.FromSeconds(1) };
        var first = await AmqpSource.Committable(connections, settings).Take(10)
            .SelectAsync(1, async m => (m.BodyText, Acked: m.BodyText.Contains("r/3\"", StringComparison.Ordinal) && await m.Ack()))
            .RunWith(Sink.Seq<(string BodyText, bool Acked)>(), Sys.Materializer());
        Assert.Single(first, x => x.Acked);

        var second = await AmqpSource.Committable(connections, settings).Take(9)
            .SelectAsync(1, async m => (m.BodyText, m.Redelivered, Acked: await m.Ack()))
            .RunWith(Sink.Seq<(string BodyText, bool Redelivered, bool Acked)>(), Sys.Materializer());
        Assert.Equal(9, second.Select(x => x.BodyText).Distinct().Count());
        Assert.DoesNotContain(second, x => x.BodyText.Contains("r/3\"", StringComparison.Ordinal));
        Assert.All(second, x => Assert.True(x.Redelivered && x.Acked));
        await BrokerFixtures.WaitUntilAsync(async () => await BrokerFixtures.ReadyAsync(queue) == 0, Deadline, () => "drained");
        await BrokerFixtures.DeleteQueueAsync(queue);
    }

    private static int CountLines(string path) => File.Exists(path) ? File.ReadAllLines(path).Count(l => l.Length > 0) : 0;

}
