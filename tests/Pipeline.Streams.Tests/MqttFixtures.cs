using Pipeline.Streams.Mqtt;
using Pipeline.Testing;

namespace Pipeline.Streams.Tests;

internal static class MqttFixtures
{
    public static MqttConnectionSettings Connection(string clientId)
    {
        var (host, port) = TestServices.Mqtt;
        return new MqttConnectionSettings(host, port, clientId) { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(2) };
    }

    private static List<string> Common()
    {
        var (host, port) = TestServices.Mqtt;
        return ["-h", host, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-V", "mqttv5"];
    }

    /// <summary>mosquitto_pub with QoS 1; with <paramref name="lines"/> every stdin line is a message.</summary>
    public static async Task PublishAsync(string topic, string payload, bool lines = false)
    {
        var args = Common();
        args.AddRange(["-q", "1", "-t", topic]);
        if (lines) args.Add("-l"); else args.AddRange(["-m", payload]);
        var (code, output) = await BrokerFixtures.RunAsync("mosquitto_pub", args, lines ? payload : null);
        if (code != 0) throw new InvalidOperationException($"mosquitto_pub exited {code}: {output}");
    }

    /// <summary>Creates a persistent mosquitto_sub session (subscribed, then gone) so messages queue for it.</summary>
    public static async Task PrepareSubscriberAsync(string clientId, string topic)
    {
        var args = Common();
        args.AddRange(["-c", "-i", clientId, "-q", "1", "-t", topic, "-E", "-x", "600"]);
        var (code, output) = await BrokerFixtures.RunAsync("mosquitto_sub", args);
        if (code != 0) throw new InvalidOperationException($"mosquitto_sub -E exited {code}: {output}");
    }

    /// <summary>Receives <paramref name="count"/> queued messages on that session, one per line, with their topics.</summary>
    public static async Task<IReadOnlyList<(string Topic, string Payload)>> ReceiveAsync(string clientId, string topic, int count)
    {
        var args = Common();
        args.AddRange(["-c", "-i", clientId, "-q", "1", "-t", topic, "-C", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-W", "60", "-x", "600", "-F", "%t\t%p"]);
        var (code, output) = await BrokerFixtures.RunAsync("mosquitto_sub", args);
        if (code != 0) throw new InvalidOperationException($"mosquitto_sub exited {code}: {output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t', 2)).Where(p => p.Length == 2).Select(p => (p[0], p[1])).ToList();
    }
}
