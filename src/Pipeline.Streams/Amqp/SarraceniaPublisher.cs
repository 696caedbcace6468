using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Contracts;
using RabbitMQ.Client;

namespace Pipeline.Streams.Amqp;

/// <summary>One of our outputs, to be announced in Sarracenia v03 so <c>sr3 subscribe</c> users can take it.</summary>
/// <param name="BaseUrl">Where our outputs are served from, e.g. <c>https://data.example.org</c>.</param>
/// <param name="RelPath">The path under it, e.g. <c>zarr/msc.gdps/2026-11-01T00Z/TMP.zarr/.zmetadata</c>.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Identity">Checksum (sha512 base64 is what sr3 computes by default).</param>
/// <param name="PubTime">When we published it.</param>
public sealed record SarraceniaPost(string BaseUrl, string RelPath, long Size, Integrity? Identity, DateTimeOffset PubTime)
{
    /// <summary>Extra v03 fields (e.g. <c>contentType</c>, <c>source</c>), written as strings.</summary>
    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    /// <summary>The v03 routing key: the topic prefix then the relPath's directories, dot-separated (as sr3 does).</summary>
    public string Topic(string topicPrefix = "v03")
    {
        var rel = RelPath.TrimStart('/');
        var slash = rel.LastIndexOf('/');
        var dirs = slash < 0 ? "" : rel[..slash];
        return dirs.Length == 0 ? topicPrefix : topicPrefix + "." + dirs.Replace('/', '.');
    }

    /// <summary>The v03 JSON body, with sr3's compact pubTime (<c>20251106T123456.789</c>).</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("pubTime", PubTime.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff", CultureInfo.InvariantCulture));
            w.WriteString("baseUrl", BaseUrl);
            w.WriteString("relPath", RelPath.TrimStart('/'));
            if (Identity is not null)
            {
                w.WriteStartObject("identity");
                w.WriteString("method", Identity.Method);
                w.WriteString("value", Identity.Value);
                w.WriteEndObject();
            }
            w.WriteNumber("size", Size);
            if (Extra is not null)
                foreach (var (k, v) in Extra) w.WriteString(k, v);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}

/// <summary>
/// Publishes Sarracenia v03 posts to an exchange with publisher confirms: <see cref="PublishAsync"/> completes
/// only when the broker confirmed the message (persistent, so it survives a broker restart in durable queues).
/// A lost channel is reopened on the next publish.
/// </summary>
public sealed class SarraceniaPublisher(AmqpConnectionProvider connections, string exchange, string topicPrefix = "v03") : IAsyncDisposable
{
    private readonly ConfirmChannel _confirm = new(connections);

    public string Exchange { get; } = exchange;

    public async Task PublishAsync(SarraceniaPost post, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(post);
        var channel = await ChannelAsync(cancellationToken).ConfigureAwait(false);
        var props = new BasicProperties
        {
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            Headers = new Dictionary<string, object?> { ["content_type"] = Encoding.UTF8.GetBytes("application/json") },
        };
        // With confirmation tracking on, this completes when the broker acks (and throws on a nack or return).
        await channel.BasicPublishAsync(Exchange, post.Topic(topicPrefix), mandatory: false, props, post.ToJson(), cancellationToken)
            .ConfigureAwait(false);
    }

    private Task<IChannel> ChannelAsync(CancellationToken cancellationToken) => _confirm.GetAsync(cancellationToken);

    public ValueTask DisposeAsync() => _confirm.DisposeAsync();
}
