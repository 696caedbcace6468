using RabbitMQ.Client;

namespace Pipeline.Streams.Amqp;

/// <summary>
/// One AMQP connection shared by every source and sink given this provider (each gets its own channel).
/// The connection is opened on first use and re-opened on the next request after it was lost; RabbitMQ.Client's
/// own automatic recovery is off because our stages recover themselves (re-declare, re-consume, and drop
/// the delivery tags of the lost channel).
/// </summary>
public sealed class AmqpConnectionProvider : IAsyncDisposable
{
    private readonly ConnectionFactory _factory;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private bool _disposed;

    /// <param name="uri"><c>amqp://user:password@host:port/vhost</c> or <c>amqps://...</c> (TLS, server name
    /// checked against the host).</param>
    /// <param name="clientName">Shown in the RabbitMQ management UI.</param>
    public AmqpConnectionProvider(Uri uri, string clientName = "pipeline")
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Scheme is not ("amqp" or "amqps"))
            throw new ArgumentException($"AMQP URI must start with amqp:// or amqps://, not '{uri.Scheme}://'", nameof(uri));
        _factory = new ConnectionFactory
        {
            Uri = uri,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            ClientProvidedName = clientName,
            RequestedHeartbeat = TimeSpan.FromSeconds(20),
        };
        Endpoint = $"{uri.Scheme}://{uri.Host}:{(uri.Port > 0 ? uri.Port : (uri.Scheme == "amqps" ? 5671 : 5672))}{uri.AbsolutePath}";
    }

    /// <summary>The broker address without credentials, for logs.</summary>
    public string Endpoint { get; }

    /// <summary>Whether the provider holds an open connection now (readiness probes).</summary>
    public bool IsConnected => _connection is { IsOpen: true };

    /// <summary>How many connections this provider has opened (1 unless the broker went away).</summary>
    public int ConnectionsOpened { get; private set; }

    /// <summary>The open connection, opening a new one if there is none or the last one was lost.</summary>
    public async Task<IConnection> GetConnectionAsync(CancellationToken cancellationToken = default)
    {
        var current = _connection;
        if (current is { IsOpen: true }) return current;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is { IsOpen: true } open) return open;
            if (_connection is not null)
            {
                try { await _connection.DisposeAsync().ConfigureAwait(false); }
                catch (Exception) { /* the old connection is already dead */ }
            }
            _connection = await _factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
            ConnectionsOpened++;
            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_connection is not null)
            {
                try
                {
                    await _connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                    await _connection.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception) { /* closing a dead connection */ }
                _connection = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
