using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Mqtt;
using Pipeline.Streams.Wis2;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests;

[Collection(BrokerCollection.Name)]
public sealed class Wis2SinkSpecs : Akka.TestKit.Xunit2.TestKit
{
    [SharedDataFact(Service.Mosquitto, Service.Python)]
    public async Task Should_publish_wnm_that_mosquitto_sub_receives_and_the_official_schema_accepts()
    {
        var centre = BrokerFixtures.Unique("zz");
        var topic = new Wis2Topic(centre, "medium-range", Probabilistic: true);
        var subscriber = BrokerFixtures.Unique("sub");
        await MqttFixtures.PrepareSubscriberAsync(subscriber, topic.ToString());
        var builder = new WnmBuilder();
        var outgoing = Enumerable.Range(0, 20)
            .Select(i => new WnmOutgoing<int>(builder.Build(WnmValidatorSpecs.Request() with { Topic = topic, LocalId = $"run/{i}.zarr" }), i))
            .ToList();
        await using var publisher = new MqttPublisher(MqttFixtures.Connection(BrokerFixtures.Unique("pub")));
        var parked = new InMemoryDeadLetterStore();

        var outcomes = await Source.From(outgoing).Via(Wis2Sink.Publish<int>(publisher, parked))
            .RunWith(Sink.Seq<WnmOutcome<int>>(), Sys.Materializer());

        Assert.Equal(Enumerable.Range(0, 20), outcomes.Select(o => o.Context));
        Assert.All(outcomes, o => Assert.True(o.Published));
        Assert.Empty(parked.Letters);
        var received = await MqttFixtures.ReceiveAsync(subscriber, topic.ToString(), 20);
        Assert.Equal(20, received.Count);
        Assert.All(received, r => Assert.Equal(topic.ToString(), r.Topic));
        Assert.Equal(outgoing.Select(o => o.Message.Json).Order(), received.Select(r => r.Payload).Order());
        var verdicts = await OfficialSchema.ValidateAsync(received.Select(r => r.Payload).ToList());
        Assert.All(verdicts, v => Assert.Null(v));
        Assert.All(received, r => Assert.Empty(WnmValidator.Validate(r.Payload, r.Topic)));
    }

    [Fact]
    public async Task Should_park_with_reason_when_the_broker_cannot_be_reached()
    {
        // A port nothing listens on: every attempt fails fast.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var publisher = new MqttPublisher(new MqttConnectionSettings("127.0.0.1", port, "nobody"));
        var parked = new InMemoryDeadLetterStore();
        var message = new WnmBuilder().Build(WnmValidatorSpecs.Request());

        var outcome = await Source.Single(new WnmOutgoing<string>(message, "ctx"))
            .Via(Wis2Sink.Publish<string>(publisher, parked, attempts: 2, firstBackoff: TimeSpan.FromMilliseconds(10)))
            .RunWith(Sink.First<WnmOutcome<string>>(), Sys.Materializer());

        Assert.False(outcome.Published);
        Assert.Equal("ctx", outcome.Context);
        var letter = Assert.Single(parked.Letters);
        Assert.Equal(message.Json, letter.Body);
        Assert.Equal(message.Topic, letter.Topic);
        Assert.Contains("failed 2 times", letter.Reason, StringComparison.Ordinal);
    }
}
