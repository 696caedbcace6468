using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Amqp;
using Pipeline.Streams.Announcements;
using Pipeline.Testing;
using RabbitMQ.Client;
using Xunit;

namespace Pipeline.Streams.Tests;

/// <summary>Our outputs re-posted as Sarracenia v03 on the real RabbitMQ, taken by real consumers.</summary>
[Collection(BrokerCollection.Name)]
public sealed class SarraceniaPublisherSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly string Sha512 = Convert.ToBase64String(new byte[64].Select((_, i) => (byte)i).ToArray());

    private static SarraceniaPost Post(string relPath, long size) =>
        new("https://data.example.org", relPath, size, new Integrity(IntegrityMethods.Sha512, Sha512),
            new DateTimeOffset(2026, 11, 1, 3, 4, 5, 678, TimeSpan.Zero))
        {
            Extra = new Dictionary<string, string> { ["contentType"] = "application/json" },
        };

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_post_confirmed_v03_messages_that_amqp_consume_receives_and_our_parser_reads_when_reposting_outputs()
    {
        var exchange = BrokerFixtures.Unique("xs_pipeline");
        var all = BrokerFixtures.Unique("q_cli");
        var narrow = BrokerFixtures.Unique("q_raw");
        await BrokerFixtures.DeclareAsync(exchange, all, "v03.#");
        await BrokerFixtures.DeclareAsync(exchange, narrow, "v03.zarr.msc.gdps.#");
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        await using var publisher = new SarraceniaPublisher(connections, exchange);
        SarraceniaPost[] posts =
        [
            Post("zarr/msc.gdps/2026-11-01T00Z/TMP.zarr/.zmetadata", 1234),
            Post("/zarr/msc.gdps/2026-11-01T00Z/TMP.zarr/0.0.0", 987654),
            Post("zarr/noaa.cbofs/2026-11-01T00Z/run.json", 55),
        ];
        try
        {
            // Emitted only once the broker confirmed each one.
            var confirmed = await Source.From(posts).Via(AmqpSink.SarraceniaV03(publisher, maxInFlight: 2))
                .RunWith(Sink.Seq<SarraceniaPost>(), Sys.Materializer());
            Assert.Equal(posts, confirmed);

            // A real AMQP client (rabbitmq-c's amqp-consume) takes them off a queue bound with v03.#.
            var (code, output) = await BrokerFixtures.RunAsync("amqp-consume",
                ["-u", BrokerFixtures.AmqpToolsUrl, "-q", all, "-c", "3", "--", "sh", "-c", "cat; echo"]);
            Assert.True(code == 0, output);
            var bodies = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, bodies.Length);
            // Publishes in flight together may reach the broker in either order (each is confirmed on its own):
            // match each received message to its post by relPath.
            bodies = [.. posts.Select(p => bodies.Single(b => JsonDocument.Parse(b).RootElement.GetProperty("relPath").GetString() == p.RelPath.TrimStart('/')))];
            for (var i = 0; i < 3; i++)
            {
                using var doc = JsonDocument.Parse(bodies[i]);
                var root = doc.RootElement;
                Assert.Matches(new Regex(@"^\d{8}T\d{6}\.\d{3}$"), root.GetProperty("pubTime").GetString());
                Assert.Equal("20261101T030405.678", root.GetProperty("pubTime").GetString());
                Assert.Equal("https://data.example.org", root.GetProperty("baseUrl").GetString());
                Assert.Equal(posts[i].RelPath.TrimStart('/'), root.GetProperty("relPath").GetString());
                Assert.Equal("sha512", root.GetProperty("identity").GetProperty("method").GetString());
                Assert.Equal(posts[i].Size, root.GetProperty("size").GetInt64());

                var parsed = Assert.IsType<ParseResult.Parsed>(SarraceniaV03Parser.Instance.Parse(new InboundMessage("sub", null, bodies[i])));
                var a = parsed.Announcements.Single();
                Assert.Equal(new Uri("https://data.example.org/" + posts[i].RelPath.TrimStart('/')), a.Location);
                Assert.Equal(new Integrity(IntegrityMethods.Sha512, Sha512), a.Integrity);
                Assert.Equal(posts[i].Size, a.Size);
                Assert.Equal(posts[i].PubTime, a.PublishedAt);
            }

            // The routing key is sr3's: v03 then the relPath's directories; a narrower binding gets only its subtree.
            var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
            await using var c = await factory.CreateConnectionAsync();
            await using var ch = await c.CreateChannelAsync();
            var got = new List<BasicGetResult>();
            while (await ch.BasicGetAsync(narrow, autoAck: true) is { } r) got.Add(r);
            Assert.Equal(["v03.zarr.msc.gdps.2026-11-01T00Z.TMP.zarr", "v03.zarr.msc.gdps.2026-11-01T00Z.TMP.zarr"],
                got.Select(g => g.RoutingKey));
            Assert.All(got, g => Assert.Equal((DeliveryModes.Persistent, "application/json"), (g.BasicProperties.DeliveryMode, g.BasicProperties.ContentType)));
        }
        finally
        {
            await BrokerFixtures.DeleteQueueAsync(all);
            await BrokerFixtures.DeleteQueueAsync(narrow);
        }
    }

    [ServiceFact(Service.RabbitMq)]
    public async Task Should_fail_the_stream_naming_the_exchange_when_the_broker_refuses_the_posts()
    {
        await using var connections = new AmqpConnectionProvider(new Uri(TestServices.AmqpUri));
        var missing = BrokerFixtures.Unique("no_such_exchange");
        await using var publisher = new SarraceniaPublisher(connections, missing);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => Source.Single(Post("a/b.zarr", 1))
            .Via(AmqpSink.SarraceniaV03(publisher, attempts: 2))
            .RunWith(Sink.Seq<SarraceniaPost>(), Sys.Materializer()));

        Assert.Contains(missing, e.ToString(), StringComparison.Ordinal);
    }
}
