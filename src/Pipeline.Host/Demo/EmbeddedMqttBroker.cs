using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;

namespace Pipeline.Host.Demo;

/// <summary>
/// MQTTnet's broker in process on a loopback port: the WIS2 notification broker of the embedded defaults (the demo,
/// a laptop). Counts what is published on it.
/// </summary>
public sealed class EmbeddedMqttBroker : IAsyncDisposable
{
    private readonly MqttServer _server;
    private long _published;

    private EmbeddedMqttBroker(MqttServer server, int port)
    {
        _server = server;
        Port = port;
        _server.InterceptingPublishAsync += _ =>
        {
            Interlocked.Increment(ref _published);
            return Task.CompletedTask;
        };
    }

    public int Port { get; }

    /// <summary><c>mqtt://127.0.0.1:PORT</c>, for <c>Pipeline:Wis2:Broker</c>.</summary>
    public string Uri => $"mqtt://127.0.0.1:{Port}";

    /// <summary>Messages published to the broker so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Starts on <paramref name="port"/> (0 picks a free one).</summary>
    public static async Task<EmbeddedMqttBroker> StartAsync(int port = 0)
    {
        if (port == 0) port = FreePort();
        var factory = new MqttServerFactory();
        var options = factory.CreateServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(port)
            .Build();
        var server = factory.CreateMqttServer(options);
        var broker = new EmbeddedMqttBroker(server, port);
        await server.StartAsync().ConfigureAwait(false);
        return broker;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync().ConfigureAwait(false);
        _server.Dispose();
    }
}
