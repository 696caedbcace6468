using Akka;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Mqtt;

/// <summary>MQTT 5 (WIS2 Global Brokers, Mosquitto) as a stream source.</summary>
public static class MqttSource
{
    /// <summary>
    /// Subscribes to <see cref="MqttSourceSettings.TopicFilters"/> with QoS 1 on a persistent session (clean start
    /// off, session expiry <see cref="MqttConnectionSettings.SessionExpiry"/>); a <c>$share/&lt;group&gt;/...</c>
    /// filter splits one feed among the nodes of a group. Delivery semantics: at-least-once. MQTTnet's automatic
    /// PUBACK is off: the broker gets the PUBACK only when downstream calls <see cref="CommittableMqttMessage.Ack"/>,
    /// and at most <see cref="MqttSourceSettings.BufferSize"/> messages are unacked (MQTT 5 Receive Maximum), so
    /// back-pressure reaches the broker. After a lost connection or broker restart the source reconnects with
    /// backoff and resubscribes; the broker redelivers what was not acked (with the DUP flag).
    /// </summary>
    public static Source<CommittableMqttMessage, NotUsed> Committable(MqttSourceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Source.FromGraph(new MqttSourceStage(settings));
    }

    /// <summary><see cref="Committable"/> then parse (WNM by default), park rejections and ack them, drop filtered.</summary>
    public static Source<CommittableAnnouncements, NotUsed> Announcements(MqttSourceSettings settings, string sourceName,
        IAnnouncementParser? parser, AnnouncementFilter filter, IDeadLetterStore deadLetters, AnnouncementCounters? counters = null) =>
        Committable(settings).Via(AnnouncementFlows.ParseFilterPark<CommittableMqttMessage>(m => m.ToInbound(sourceName),
            parser ?? Wis2NotificationParser.Instance, filter, deadLetters, counters));
}
