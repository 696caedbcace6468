using Akka;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Amqp;

/// <summary>
/// AMQP 0-9-1 (RabbitMQ, Sarracenia brokers such as the MSC Datamart's <c>xpublic</c>) as stream edges.
/// </summary>
public static class AmqpSource
{
    /// <summary>
    /// Consumes a durable named queue bound to <see cref="AmqpSourceSettings.Exchange"/> with the binding keys.
    /// Delivery semantics: at-least-once. Every element stays unacked until downstream calls
    /// <see cref="CommittableAmqpMessage.Ack"/> (or Nack); at most <see cref="AmqpSourceSettings.Prefetch"/>
    /// are unacked at once, so back-pressure reaches the broker. Acks are folded into multiple-acks. After a
    /// connection loss or broker restart the source reconnects with backoff and re-declares; what was not
    /// acked is delivered again (with <see cref="CommittableAmqpMessage.Redelivered"/> set), what was acked is
    /// not. On cancel it stops consuming and completes once every emitted element is acked or nacked.
    /// </summary>
    /// <param name="connections">Shared by every source and sink given the same provider (one connection).</param>
    public static Source<CommittableAmqpMessage, NotUsed> Committable(AmqpConnectionProvider connections, AmqpSourceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(settings);
        return Source.FromGraph(new AmqpSourceStage(connections, settings));
    }

    /// <summary>
    /// <see cref="Committable"/> followed by <see cref="AnnouncementFlows.ParseFilterPark{T}"/>: Sarracenia v02/v03
    /// (or any format <paramref name="parser"/> reads) as announcements, rejections parked then acked, filtered
    /// ones acked (and parked first with <paramref name="parkFiltered"/>, for replay). Downstream acks each element
    /// once its announcements are admitted.
    /// </summary>
    public static Source<CommittableAnnouncements, NotUsed> Announcements(
        AmqpConnectionProvider connections,
        AmqpSourceSettings settings,
        string sourceName,
        IAnnouncementParser parser,
        AnnouncementFilter filter,
        IDeadLetterStore deadLetters,
        AnnouncementCounters? counters = null,
        bool parkFiltered = false) =>
        Committable(connections, settings)
            .Via(AnnouncementFlows.ParseFilterPark<CommittableAmqpMessage>(m => m.ToInbound(sourceName), parser, filter, deadLetters, counters,
                parkFiltered: parkFiltered));
}

/// <summary>AMQP sinks.</summary>
public static class AmqpSink
{
    /// <summary>
    /// Re-posts our outputs as Sarracenia v03 on an exchange. Delivery semantics: an element is emitted only after
    /// the broker confirmed it (publisher confirms, persistent messages); a failed publish is retried with backoff
    /// <paramref name="attempts"/> times and then fails the stream, never silently dropped.
    /// </summary>
    public static Flow<SarraceniaPost, SarraceniaPost, NotUsed> SarraceniaV03(SarraceniaPublisher publisher, int maxInFlight = 64, int attempts = 5) =>
        Flow.Create<SarraceniaPost>().SelectAsync(maxInFlight, async post =>
        {
            var delay = TimeSpan.FromMilliseconds(200);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await publisher.PublishAsync(post).ConfigureAwait(false);
                    return post;
                }
                catch (Exception) when (attempt < attempts)
                {
                    await Task.Delay(delay).ConfigureAwait(false);
                    delay += delay;
                }
            }
        });
}
