using System.Text;
using Pipeline.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Xunit;

namespace Pipeline.IntegrationTests.Smoke;

/// <summary>One real round trip through the harness's RabbitMQ with RabbitMQ.Client 7.</summary>
public sealed class RabbitMqSmokeSpecs
{
    [ServiceFact(Service.RabbitMq)]
    public async Task Should_deliver_and_ack_a_confirmed_message_when_published_to_a_declared_queue()
    {
        var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri), ClientProvidedName = "smoke" };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var queue = "smoke." + Guid.NewGuid().ToString("N");
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        try
        {
            var body = Encoding.UTF8.GetBytes("""{"relPath":"smoke/test.grib2"}""");
            // With confirmation tracking, the publish completes only when the broker confirmed it.
            await channel.BasicPublishAsync("", queue, mandatory: true, new BasicProperties { MessageId = "m1" }, body);

            var received = new TaskCompletionSource<(string Id, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
            await channel.BasicQosAsync(0, 10, false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, ea) =>
            {
                var copy = ea.Body.ToArray();
                await channel.BasicAckAsync(ea.DeliveryTag, multiple: false);
                received.TrySetResult((ea.BasicProperties.MessageId ?? "", copy));
            };
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

            var (id, got) = await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("m1", id);
            Assert.Equal(body, got);

            // Acked: nothing is left in the queue once the ack has reached the broker.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            uint left;
            do
            {
                left = await channel.MessageCountAsync(queue);
                if (left == 0) break;
                await Task.Delay(100);
            } while (DateTime.UtcNow < deadline);
            Assert.Equal(0u, left);
        }
        finally
        {
            await channel.QueueDeleteAsync(queue);
        }
    }
}
