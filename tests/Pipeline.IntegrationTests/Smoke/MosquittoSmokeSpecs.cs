using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.IntegrationTests.Smoke;

/// <summary>One real QoS 1 round trip through the harness's Mosquitto with MQTTnet 5.</summary>
public sealed class MosquittoSmokeSpecs
{
    [ServiceFact(Service.Mosquitto)]
    public async Task Should_receive_a_qos1_message_when_published_on_a_subscribed_topic()
    {
        var (host, port) = TestServices.Mqtt;
        var factory = new MqttClientFactory();
        using var subscriber = factory.CreateMqttClient();
        using var publisher = factory.CreateMqttClient();
        var topic = $"origin/a/wis2/ca-eccc-msc/data/core/weather/smoke/{Guid.NewGuid():N}";

        var received = new TaskCompletionSource<(string Topic, string Payload, MqttQualityOfServiceLevel Qos)>(
            TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            received.TrySetResult((e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString(),
                e.ApplicationMessage.QualityOfServiceLevel));
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("smoke-sub-" + Guid.NewGuid().ToString("N")).Build());
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("origin/a/wis2/+/data/core/weather/smoke/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build());

        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("smoke-pub-" + Guid.NewGuid().ToString("N")).Build());
        var result = await publisher.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(Encoding.UTF8.GetBytes("""{"type":"Feature"}"""))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        Assert.True(result.IsSuccess, $"PUBACK reason {result.ReasonCode}");

        var got = await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(topic, got.Topic);
        Assert.Equal("""{"type":"Feature"}""", got.Payload);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, got.Qos);
        await subscriber.DisconnectAsync();
        await publisher.DisconnectAsync();
    }
}
