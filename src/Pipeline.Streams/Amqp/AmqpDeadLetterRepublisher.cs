using System.Text;
using Pipeline.Streams.Announcements;
using RabbitMQ.Client;

namespace Pipeline.Streams.Amqp;

/// <summary>
/// Puts parked AMQP messages back on an exchange (their original routing key, body and headers) with publisher
/// confirms, so the source that parked them processes them again with its current parser and filter. Use as the
/// resend of <see cref="DeadLetterReplay.ReplayAsync"/>.
/// </summary>
public sealed class AmqpDeadLetterRepublisher(AmqpConnectionProvider connections, string exchange) : IAsyncDisposable
{
    private readonly ConfirmChannel _confirm = new(connections);

    /// <summary>The exchange letters go back to: the one the source's queue is bound to (e.g. <c>xpublic</c>).</summary>
    public string Exchange { get; } = exchange ?? throw new ArgumentNullException(nameof(exchange));

    /// <summary>Completes once the broker confirmed the message; throws when the letter has no routing key or the
    /// broker refused it (the letter then stays parked).</summary>
    public async Task RepublishAsync(DeadLetter letter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (string.IsNullOrEmpty(letter.Topic) && !string.IsNullOrEmpty(Exchange))
            throw new InvalidOperationException($"dead letter {letter.Id} from {letter.Source} has no routing key; it cannot be routed on '{Exchange}'");
        var props = new BasicProperties { DeliveryMode = DeliveryModes.Persistent };
        if (letter.Headers is { Count: > 0 } headers)
        {
            props.Headers = new Dictionary<string, object?>(headers.Count);
            foreach (var (k, v) in headers) props.Headers[k] = Encoding.UTF8.GetBytes(v);
        }
        var channel = await ChannelAsync(cancellationToken).ConfigureAwait(false);
        await channel.BasicPublishAsync(Exchange, letter.Topic ?? "", mandatory: false, props, Encoding.UTF8.GetBytes(letter.Body), cancellationToken)
            .ConfigureAwait(false);
    }

    private Task<IChannel> ChannelAsync(CancellationToken cancellationToken) => _confirm.GetAsync(cancellationToken);

    public ValueTask DisposeAsync() => _confirm.DisposeAsync();
}
