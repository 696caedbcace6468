using System.Text;
using Akka;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Mqtt;

namespace Pipeline.Streams.Wis2;

/// <summary>A notification to publish, with whatever the caller needs back to ack its own upstream.</summary>
public sealed record WnmOutgoing<TContext>(WnmMessage Message, TContext Context);

/// <summary>The outcome: <see cref="Published"/> (PUBACK received) or parked in the dead-letter store.</summary>
public sealed record WnmOutcome<TContext>(WnmMessage Message, TContext Context, bool Published, string? ParkedReason);

/// <summary>WIS2 notification publishing over MQTT.</summary>
public static class Wis2Sink
{
    /// <summary>
    /// Publishes each notification with QoS 1 and emits its outcome in order. Delivery semantics: an element is
    /// emitted as published only after the broker's PUBACK; a failed publish (refused, disconnected, timed out)
    /// is retried with backoff up to <paramref name="attempts"/> times, then parked in
    /// <paramref name="parked"/> with the reason and emitted as not published. Either way the outcome is durable
    /// when emitted, so the caller may then ack its upstream. Parked notifications are republished by
    /// <see cref="ReplayParkedAsync"/>.
    /// </summary>
    public static Flow<WnmOutgoing<T>, WnmOutcome<T>, NotUsed> Publish<T>(MqttPublisher publisher, IDeadLetterStore parked,
        int maxInFlight = 256, int attempts = 5, TimeSpan? firstBackoff = null)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(parked);
        var backoff = firstBackoff ?? TimeSpan.FromMilliseconds(200);
        return Flow.Create<WnmOutgoing<T>>().SelectAsync(maxInFlight, async o =>
        {
            var reason = await PublishOrParkAsync(publisher, parked, o.Message, attempts, backoff).ConfigureAwait(false);
            return new WnmOutcome<T>(o.Message, o.Context, reason is null, reason);
        });
    }

    /// <summary>
    /// Publishes one notification with QoS 1, retrying with doubling backoff up to <paramref name="attempts"/> times,
    /// then parks it with the reason. Returns null once the broker acknowledged it, else the reason it was parked.
    /// </summary>
    public static async Task<string?> PublishOrParkAsync(MqttPublisher publisher, IDeadLetterStore parked, WnmMessage message,
        int attempts = 5, TimeSpan? firstBackoff = null, CancellationToken cancellationToken = default)
    {
        var payload = Encoding.UTF8.GetBytes(message.Json);
        var delay = firstBackoff ?? TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                await publisher.PublishAsync(message.Topic, payload, timeout.Token).ConfigureAwait(false);
                return null;
            }
            catch (Exception e) when (e is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= attempts)
                {
                    var reason = $"MQTT publish failed {attempts} times: {e.GetType().Name}: {e.Message}";
                    await parked.ParkAsync(new DeadLetter($"wis2:{publisher.Settings.ClientId}", reason, DateTimeOffset.UtcNow,
                        message.Topic, message.Json), CancellationToken.None).ConfigureAwait(false);
                    return reason;
                }
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay += delay;
            }
        }
    }

    /// <summary>
    /// Republishes every notification parked in <paramref name="from"/>; those that fail again go to
    /// <paramref name="stillFailing"/>. Returns how many were republished.
    /// </summary>
    public static async Task<int> ReplayParkedAsync(IDeadLetterStore from, MqttPublisher publisher, IDeadLetterStore stillFailing,
        CancellationToken cancellationToken = default)
    {
        var count = 0;
        await foreach (var letter in from.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (letter.Topic is null) continue;
            try
            {
                await publisher.PublishAsync(letter.Topic, Encoding.UTF8.GetBytes(letter.Body), cancellationToken).ConfigureAwait(false);
                count++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await stillFailing.ParkAsync(letter with { Reason = "replay failed: " + e.Message, At = DateTimeOffset.UtcNow },
                    cancellationToken).ConfigureAwait(false);
            }
        }
        return count;
    }
}
