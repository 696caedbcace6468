using MQTTnet;
using MQTTnet.Formatter;

namespace Pipeline.Streams.Mqtt;

/// <summary>Where and how to connect to an MQTT 5 broker (Mosquitto, a WIS2 Global Broker, EMQX...).</summary>
/// <param name="Host">Broker host.</param>
/// <param name="Port">1883, or 8883 with <see cref="UseTls"/>.</param>
/// <param name="ClientId">Stable across restarts: the persistent session belongs to it.</param>
public sealed record MqttConnectionSettings(string Host, int Port, string ClientId)
{
    public string? Username { get; init; }
    public string? Password { get; init; }
    public bool UseTls { get; init; }

    /// <summary>How long the broker keeps our session (subscriptions and queued QoS 1 messages) while we are away.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromHours(24);

    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    internal MqttClientOptions ToOptions(ushort receiveMaximum, bool cleanStart)
    {
        var b = new MqttClientOptionsBuilder()
            .WithTcpServer(Host, Port)
            .WithClientId(ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(cleanStart)
            .WithSessionExpiryInterval((uint)SessionExpiry.TotalSeconds)
            .WithReceiveMaximum(receiveMaximum)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (Username is not null) b = b.WithCredentials(Username, Password);
        if (UseTls) b = b.WithTlsOptions(o => o.UseTls());
        return b.Build();
    }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("MqttConnectionSettings.Host is empty", nameof(Host));
        if (Port is <= 0 or > 65535) throw new ArgumentException($"MqttConnectionSettings.Port {Port} is not a TCP port", nameof(Port));
        if (string.IsNullOrWhiteSpace(ClientId) || ClientId.Length > 64)
            throw new ArgumentException("MqttConnectionSettings.ClientId must be 1-64 characters and stable across restarts", nameof(ClientId));
    }
}

/// <summary>A subscription: topic filters (e.g. <c>origin/a/wis2/+/data/core/#</c>, or shared
/// <c>$share/pipeline/origin/a/wis2/+/data/core/#</c> so several nodes split one feed), always QoS 1.</summary>
/// <param name="BufferSize">MQTT 5 Receive Maximum: at most this many unacked messages reach us, which is our back-pressure.</param>
public sealed record MqttSourceSettings(MqttConnectionSettings Connection, IReadOnlyList<string> TopicFilters, ushort BufferSize = 100)
{
    /// <summary>Told when the source is subscribed and when it loses the broker (readiness).</summary>
    public SourceHealth? Health { get; init; }

    public void Validate()
    {
        Connection.Validate();
        if (TopicFilters.Count == 0) throw new ArgumentException("MqttSourceSettings.TopicFilters is empty", nameof(TopicFilters));
        if (BufferSize == 0) throw new ArgumentException("MqttSourceSettings.BufferSize must be at least 1", nameof(BufferSize));
    }
}
