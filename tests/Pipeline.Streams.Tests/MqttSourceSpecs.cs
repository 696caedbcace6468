using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Mqtt;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Streams.Tests;

[Collection(BrokerCollection.Name)]
public sealed class MqttSourceSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);
    private readonly ITestOutputHelper _output;

    public MqttSourceSpecs(ITestOutputHelper output) : base(output: output) => _output = output;

    private static string Wnm(string centre, int i) => $$$"""
        {"id":"{{{Guid.NewGuid()}}}","conformsTo":["http://wis.wmo.int/spec/wnm/1/conf/core"],"type":"Feature","geometry":null,
         "properties":{"data_id":"{{{centre}}}/data/core/weather/prediction/forecast/medium-range/deterministic/run/{{{i}}}","pubtime":"2026-11-01T00:00:00Z","datetime":"2026-11-01T00:00:00Z",
         "integrity":{"method":"sha512","value":"{{{Convert.ToBase64String(new byte[64])}}}"}},
         "links":[{"href":"https://example.org/{{{centre}}}/{{{i}}}.grib2","rel":"canonical","type":"application/grib","length":{{{i}}}}]}
        """.ReplaceLineEndings("");

    [ServiceFact(Service.Mosquitto)]
    public async Task Should_deliver_wnm_published_by_mosquitto_pub_as_announcements_and_park_malformed_ones()
    {
        var centre = BrokerFixtures.Unique("zz");
        var settings = new MqttSourceSettings(MqttFixtures.Connection(BrokerFixtures.Unique("pipeline")), [$"origin/a/wis2/{centre}/data/core/#"], 10);
        var dead = new InMemoryDeadLetterStore();
        var got = new ConcurrentQueue<Announcement>();
        var kill = MqttSource.Announcements(settings, "wis2-gb", null, AnnouncementFilter.AcceptAll, dead)
            .ViaMaterialized(KillSwitches.Single<CommittableAnnouncements>(), Keep.Right)
            .SelectAsync(4, async c => { foreach (var a in c.Announcements) got.Enqueue(a); return await c.Ack(); })
            .To(Sink.Ignore<bool>()).Run(Sys.Materializer());
        try
        {
            var topic = $"origin/a/wis2/{centre}/data/core/weather/prediction/forecast/medium-range/deterministic";
            // The source subscribes asynchronously: publish until the first one arrives (QoS 1, persistent session from then on).
            await BrokerFixtures.WaitUntilAsync(async () => { await MqttFixtures.PublishAsync(topic, Wnm(centre, 0)); return !got.IsEmpty; },
                Deadline, () => "first WNM");
            await MqttFixtures.PublishAsync(topic, Wnm(centre, 1));
            await MqttFixtures.PublishAsync(topic, "{\"type\":\"Feature\",\"properties\":{}}");
            await MqttFixtures.PublishAsync(topic, "garbage");
            await BrokerFixtures.WaitUntilAsync(() => got.Any(a => a.Size == 1) && dead.Letters.Count == 2, Deadline,
                () => $"{got.Count} announcements, {dead.Letters.Count} parked");
            var one = got.First(a => a.Size == 1);
            Assert.Equal(AnnouncementFormats.Wis2, one.Format);
            Assert.Equal(topic, one.Topic);
            Assert.Equal(new Uri($"https://example.org/{centre}/1.grib2"), one.Location);
            Assert.Contains(dead.Letters, l => l.Reason.Contains("'properties.data_id' is missing", StringComparison.Ordinal));
            Assert.All(dead.Letters, l => Assert.Equal(topic, l.Topic));
        }
        finally
        {
            kill.Shutdown();
        }
    }

    [ServiceFact(Service.Mosquitto)]
    public async Task Should_split_one_feed_between_two_nodes_when_they_share_a_subscription()
    {
        var centre = BrokerFixtures.Unique("zz");
        var filter = $"$share/pipeline/origin/a/wis2/{centre}/data/core/#";
        var topic = $"origin/a/wis2/{centre}/data/core/weather/prediction/forecast/medium-range/deterministic";
        var byNode = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        var kills = new List<UniqueKillSwitch>();
        foreach (var node in new[] { "a", "b" })
        {
            var bag = byNode.GetOrAdd(node, _ => []);
            kills.Add(MqttSource.Committable(new MqttSourceSettings(MqttFixtures.Connection(BrokerFixtures.Unique("node-" + node)), [filter], 10))
                .ViaMaterialized(KillSwitches.Single<CommittableMqttMessage>(), Keep.Right)
                .SelectAsync(4, async m => { bag.Add(m.PayloadText); return await m.Ack(); })
                .To(Sink.Ignore<bool>()).Run(Sys.Materializer()));
        }
        try
        {
            // Wait until both nodes are subscribed: probes until each has received one.
            var probe = 0;
            await BrokerFixtures.WaitUntilAsync(async () =>
            {
                await MqttFixtures.PublishAsync(topic, "probe-" + probe++);
                return byNode.Values.All(b => !b.IsEmpty);
            }, Deadline, () => "both nodes subscribed");
            var before = byNode.Values.Sum(b => b.Count);
            await MqttFixtures.PublishAsync(topic, string.Join('\n', Enumerable.Range(0, 200).Select(i => "m-" + i)) + "\n", lines: true);
            await BrokerFixtures.WaitUntilAsync(() => byNode.Values.Sum(b => b.Count) == before + 200, Deadline,
                () => $"{byNode.Values.Sum(b => b.Count) - before} of 200");
            var all = byNode.Values.SelectMany(b => b.Where(x => x.StartsWith("m-", StringComparison.Ordinal))).ToList();
            Assert.Equal(200, all.Distinct().Count());
            Assert.All(byNode.Values, b => Assert.Contains(b, x => x.StartsWith("m-", StringComparison.Ordinal)));
        }
        finally
        {
            foreach (var k in kills) k.Shutdown();
        }
    }

    [Trait(TestCategories.Category, TestCategories.BrokerRestart)]
    [ServiceFact(Service.Mosquitto)]
    public async Task Should_process_every_message_and_ack_each_once_when_mosquitto_restarts_mid_stream()
    {
        const int total = 10_000;
        var centre = BrokerFixtures.Unique("zz");
        var topic = $"origin/a/wis2/{centre}/data/core/weather/prediction/forecast/medium-range/deterministic";
        var settings = new MqttSourceSettings(MqttFixtures.Connection(BrokerFixtures.Unique("restart")), [$"origin/a/wis2/{centre}/#"], 100);
        var processed = new ConcurrentDictionary<string, int>();
        var acked = new ConcurrentDictionary<string, int>();
        var lost = 0;
        var kill = MqttSource.Committable(settings)
            .ViaMaterialized(KillSwitches.Single<CommittableMqttMessage>(), Keep.Right)
            .Throttle(1000, TimeSpan.FromSeconds(1), 100, ThrottleMode.Shaping)
            .SelectAsync(16, async m =>
            {
                var id = m.PayloadText;
                processed.AddOrUpdate(id, 1, (_, n) => n + 1);
                if (await m.Ack()) acked.AddOrUpdate(id, 1, (_, n) => n + 1);
                else Interlocked.Increment(ref lost);
                return id;
            })
            .To(Sink.Ignore<string>()).Run(Sys.Materializer());
        try
        {
            var probe = 0;
            await BrokerFixtures.WaitUntilAsync(async () => { await MqttFixtures.PublishAsync(topic, "probe-" + probe++); return !acked.IsEmpty; },
                Deadline, () => "subscribed");
            await MqttFixtures.PublishAsync(topic, string.Join('\n', Enumerable.Range(0, total).Select(i => "id-" + i)) + "\n", lines: true);
            await BrokerFixtures.WaitUntilAsync(() => acked.Count >= 2_500, Deadline, () => $"{acked.Count} acked before the restart");
            await BrokerFixtures.ControlAsync("PIPELINE_TEST_MOSQUITTO_CTL", "stop");
            var ackedAtStop = acked.Keys.Count(k => k.StartsWith("id-", StringComparison.Ordinal));
            var deliveriesAtStop = processed.Values.Sum();
            await BrokerFixtures.ControlAsync("PIPELINE_TEST_MOSQUITTO_CTL", "start");
            await BrokerFixtures.WaitUntilAsync(() => processed.Values.Sum() > deliveriesAtStop + 10, TimeSpan.FromSeconds(40),
                () => $"nothing delivered after the restart: {processed.Values.Sum()} deliveries, {deliveriesAtStop} at stop");
            // Every id processed; an ack that came back false was unconfirmed (the connection went first): the broker
            // either had it or redelivers the message, which the DUP-aware count below sees.
            await BrokerFixtures.WaitUntilAsync(() => processed.Keys.Count(k => k.StartsWith("id-", StringComparison.Ordinal)) == total &&
                    acked.Keys.Count(k => k.StartsWith("id-", StringComparison.Ordinal)) + lost >= total, Deadline,
                () => $"{acked.Count} acked, {processed.Count} processed, {processed.Values.Sum()} deliveries, {lost} acks unconfirmed");
            _output.WriteLine($"acked at stop {ackedAtStop}; processed twice {processed.Values.Count(n => n > 1)}; acks lost {lost}");
            Assert.True(ackedAtStop < total, "the restart came after the stream ended; it proves nothing");
            Assert.Equal(total, processed.Keys.Count(k => k.StartsWith("id-", StringComparison.Ordinal)));
            Assert.DoesNotContain(acked, kv => kv.Value != 1);
        }
        finally
        {
            kill.Shutdown();
        }
    }
}
