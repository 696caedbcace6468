using System.Text;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Amqp;

/// <summary>Receives the outcome of a delivery; implemented by the source stage's logic.</summary>
internal interface IAmqpAcknowledger
{
    Task<bool> Resolve(int epoch, ulong deliveryTag, bool nack, bool requeue);
}

/// <summary>
/// One AMQP delivery that stays unacknowledged until <see cref="Ack"/> or <see cref="Nack"/>. Call exactly one
/// of them, once the outcome is durable (the file admitted, or the message parked); later calls return the
/// first call's task.
/// </summary>
public sealed class CommittableAmqpMessage : ICommittable
{
    private readonly IAmqpAcknowledger _acknowledger;
    private readonly int _epoch;
    private Task<bool>? _outcome;

    internal CommittableAmqpMessage(IAmqpAcknowledger acknowledger, int epoch, ulong deliveryTag, bool redelivered,
        string exchange, string routingKey, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? headers,
        string? messageId)
    {
        _acknowledger = acknowledger;
        _epoch = epoch;
        DeliveryTag = deliveryTag;
        Redelivered = redelivered;
        Exchange = exchange;
        RoutingKey = routingKey;
        Body = body;
        Headers = headers;
        MessageId = messageId;
    }

    public ulong DeliveryTag { get; }

    internal int EpochValue => _epoch;

    /// <summary>The broker delivered this before (to us or another consumer) without an ack.</summary>
    public bool Redelivered { get; }

    public string Exchange { get; }

    public string RoutingKey { get; }

    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Application headers, strings decoded as UTF-8 (Sarracenia v02 carries its fields here).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; }

    public string? MessageId { get; }

    public string BodyText => Encoding.UTF8.GetString(Body.Span);

    /// <summary>
    /// Acknowledges the delivery. True once the broker has handled the ack (folded into one multiple-ack with its
    /// neighbours, then confirmed by a synchronous round trip on the same channel, since AMQP 0-9-1 never
    /// confirms an ack itself); false if the channel was lost before the round trip came back: then either the ack
    /// reached the broker first, or the broker redelivers the message (at-least-once either way).
    /// </summary>
    public Task<bool> Ack() => Outcome(nack: false, requeue: false);

    /// <summary>Rejects the delivery; with <paramref name="requeue"/> the broker delivers it again.
    /// Prefer parking plus <see cref="Ack"/> for bad messages, so nothing loops forever.</summary>
    public Task<bool> Nack(bool requeue) => Outcome(nack: true, requeue);

    private Task<bool> Outcome(bool nack, bool requeue)
    {
        var existing = Volatile.Read(ref _outcome);
        if (existing is not null) return existing;
        lock (_acknowledger)
        {
            return _outcome ??= _acknowledger.Resolve(_epoch, DeliveryTag, nack, requeue);
        }
    }

    /// <summary>The message as the parsers read it.</summary>
    public InboundMessage ToInbound(string source) => new(source, RoutingKey, BodyText, Headers);

    public override string ToString() => $"AMQP delivery {DeliveryTag} on {RoutingKey} ({Body.Length} bytes)";
}
