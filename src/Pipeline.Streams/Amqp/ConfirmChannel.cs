using RabbitMQ.Client;

namespace Pipeline.Streams.Amqp;

/// <summary>
/// One publisher-confirms channel on the shared connection, opened at first use and reopened after it closed
/// (connection loss, broker restart, a channel-level error). Thread-safe.
/// </summary>
internal sealed class ConfirmChannel(AmqpConnectionProvider connections) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    public async Task<IChannel> GetAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } c) return c;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channel is { IsOpen: true } open) return open;
            var connection = await connections.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
            _channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
                cancellationToken).ConfigureAwait(false);
            return _channel;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null)
        {
            try { await _channel.CloseAsync().ConfigureAwait(false); }
            catch (Exception) { /* already closed */ }
            await _channel.DisposeAsync().ConfigureAwait(false);
        }
        _gate.Dispose();
    }
}
