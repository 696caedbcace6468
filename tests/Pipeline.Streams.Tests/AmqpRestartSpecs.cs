using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Streams.Amqp;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Streams.Tests;

[Collection(BrokerCollection.Name)]
public sealed class AmqpRestartSpecs : Akka.TestKit.Xunit2.TestKit
{
    private readonly ITestOutputHelper _output;

    public AmqpRestartSpecs(ITestOutputHelper output) : base(output: output) => _output = output;

    [Trait(TestCategories.Category, TestCategories.BrokerRestart)]
    [ServiceFact(Service.RabbitMq)]
    public async Task Should_process_every_message_once_acked_and_lose_none_when_the_broker_restarts_mid_stream()
    {
        const int total = 10_000;
        var exchange = BrokerFixtures.Unique("xpublic");
        var queue = BrokerFixtures.Unique("q_restart");
        await BrokerFixtures.DeclareAsync(exchange, queue, "v03.#");
        var lines = string.Join('\n', Enumerable.Range(0, total).Select(i =>
            $$"""{"pubTime":"20251106T123456.789","baseUrl":"https://dd.example.org","relPath":"restart/{{i}}.grib2","size":{{i}}}""")) + "\n";
        await BrokerFixtures.AmqpPublishAsync(exchange, "v03.restart", lines, lines: true);

        var processed = new ConcurrentDictionary<string, int>();
        var acked = new ConcurrentDictionary<string, int>();
        var ackLost = 0;
        var unconfirmed = new ConcurrentDictionary<string, int>();
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var settings = new AmqpSourceSettings(queue, exchange, ["v03.#"], Prefetch: 200);
        var kill = AmqpSource.Committable(connections, settings)
            .ViaMaterialized(KillSwitches.Single<CommittableAmqpMessage>(), Keep.Right)
            // Slow enough that the restart lands mid-stream.
            .Throttle(1000, TimeSpan.FromSeconds(1), 200, ThrottleMode.Shaping)
            .SelectAsync(16, async m =>
            {
                var id = m.BodyText;
                processed.AddOrUpdate(id, 1, (_, n) => n + 1);
                if (await m.Ack()) acked.AddOrUpdate(id, 1, (_, n) => n + 1);
                else
                {
                    // Sent but not confirmed (AMQP 0-9-1 never confirms an ack): either the broker had it, or it redelivers.
                    Interlocked.Increment(ref ackLost);
                    unconfirmed.TryAdd(id, 1);
                }
                return id;
            })
            .To(Sink.Ignore<string>())
            .Run(Sys.Materializer());
        try
        {
            var deadline = TimeSpan.FromMinutes(5);
            await BrokerFixtures.WaitUntilAsync(() => acked.Count >= 2_500, deadline, () => $"{acked.Count} acked before the restart");
            await BrokerFixtures.ControlAsync("PIPELINE_TEST_RABBITMQ_CTL", "stop");
            var ackedAtStop = acked.Count;
            await BrokerFixtures.ControlAsync("PIPELINE_TEST_RABBITMQ_CTL", "start");
            // Every message is acked and confirmed, or its ack went out with the channel and the broker either had it
            // or redelivers it (then it is acked again): nothing is left unaccounted for, and the queue empties.
            await BrokerFixtures.WaitUntilAsync(() => processed.Count == total &&
                    processed.Keys.All(id => acked.ContainsKey(id) || unconfirmed.ContainsKey(id)), deadline,
                () => $"{acked.Count} of {total} acked, {processed.Count} processed, {ackLost} acks lost with the channel");
            _output.WriteLine($"acked at stop {ackedAtStop}; redelivered after restart {processed.Values.Count(n => n > 1)}; acks lost {ackLost}; connections {connections.ConnectionsOpened}");

            Assert.True(ackedAtStop < total, "the restart happened after the stream ended; it proves nothing");
            Assert.Equal(total, processed.Count);
            Assert.DoesNotContain(acked, kv => kv.Value != 1);
            Assert.True(acked.Count + unconfirmed.Keys.Count(id => !acked.ContainsKey(id)) == total, "every message acked or its ack sent");
            Assert.True(connections.ConnectionsOpened >= 2, "the source never reconnected");
            await BrokerFixtures.WaitUntilAsync(async () => await BrokerFixtures.ReadyAsync(queue) == 0, deadline, () => "queue empty");
        }
        finally
        {
            kill.Shutdown();
            await BrokerFixtures.DeleteQueueAsync(queue);
        }
    }
}
