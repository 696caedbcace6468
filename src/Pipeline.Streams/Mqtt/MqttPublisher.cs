using MQTTnet;
using MQTTnet.Protocol;

namespace Pipeline.Streams.Mqtt;

/// <summary>
/// One MQTT 5 client for publishing with QoS 1. <see cref="PublishAsync"/> completes when the broker's PUBACK
/// arrived with a success code; it (re)connects on demand, one connect at a time. Thread-safe; many
/// publishes may be in flight at once.
/// </summary>
public sealed class MqttPublisher(MqttConnectionSettings settings) : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly SemaphoreSlim _connectGate = new(1, 1);

    public MqttConnectionSettings Settings { get; } = settings;

    public int Connects { get; private set; }

    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/geo+json")
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
            throw new MqttPublishFailedException($"broker refused publish to {topic}: {result.ReasonCode} {result.ReasonString}");
    }

    private async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected) return;
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client.IsConnected) return;
            Settings.Validate();
            var result = await _client.ConnectAsync(Settings.ToOptions(ushort.MaxValue, cleanStart: false), cancellationToken).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
                throw new MqttPublishFailedException($"CONNACK {result.ResultCode} {result.ReasonString}");
            Connects++;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected) await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build()).ConfigureAwait(false);
        }
        catch (Exception) { /* already gone */ }
        _client.Dispose();
        _connectGate.Dispose();
    }
}

public sealed class MqttPublishFailedException(string message) : Exception(message);
