using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MQTTnet;
using Pipeline.Streams.Wis2;
using Pipeline.Testing;
using Pipeline.Zarr.Storage;
using RabbitMQ.Client;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>
/// The production shape on real services: a Sarracenia v03 feed on RabbitMQ (a source from configuration), files
/// from an HTTP server, Zarr to an S3 API server (s3rver), WIS2 notifications on Mosquitto received by a real MQTT
/// client and checked against the WNM requirements.
/// </summary>
public sealed class IngestBrokerSpecs
{
    private const string Dataset = "test.broker";
    private const string Topic = "origin/a/wis2/xx-test/data/core/weather/prediction/forecast/short-range/deterministic";
    private static readonly int[] Steps = [0, 3, 6];

    [ServiceFact(Service.RabbitMq, Service.Mosquitto, Service.S3, Service.Python)]
    public async Task Should_ingest_a_run_announced_on_AMQP_into_S3_and_notify_every_file_and_the_run_on_MQTT_once()
    {
        var root = Directory.CreateTempSubdirectory("pipeline-broker-").FullName;
        try
        {
            var dir = Path.Combine(root, "data", "model", "20261124", "12");
            await RunFixtures.RunAsync(dir, "20261124", 12, Steps);
            await using var server = await LocalFileServer.StartAsync(Path.Combine(root, "data"));

            var id = Guid.NewGuid().ToString("N")[..10];
            var exchange = "xpublic-" + id;
            var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
            await using var amqp = await factory.CreateConnectionAsync();
            await using var channel = await amqp.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: false, autoDelete: true);

            // S3: the store lives in a fresh bucket on s3rver; the node reads the endpoint and keys from the AWS environment.
            var bucket = "ingest-" + id;
            Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_S3", TestServices.S3Endpoint);
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
            using var s3 = new S3ObjectStore(S3StoreOptions.FromUri($"s3://{bucket}/runs"));
            await s3.EnsureBucketAsync();

            // A real MQTT client subscribed before anything is published.
            var (mqttHost, mqttPort) = TestServices.Mqtt;
            var received = new ConcurrentQueue<string>();
            using var mqtt = new MqttClientFactory().CreateMqttClient();
            mqtt.ApplicationMessageReceivedAsync += e =>
            {
                received.Enqueue(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
                return Task.CompletedTask;
            };
            await mqtt.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mqttHost, mqttPort).WithClientId("sub-" + id).Build());
            await mqtt.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topic, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());

            await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
            {
                ["Pipeline:Datasets:0:Id"] = Dataset,
                ["Pipeline:Datasets:0:PathPatterns:0"] = @"^model/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
                ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = Steps.Length.ToString(),
                ["Pipeline:Datasets:0:Outputs:Store"] = $"s3://{bucket}/runs",
                ["Pipeline:Datasets:0:Outputs:WnmTopic"] = Topic,
                ["Pipeline:Wis2:Broker"] = $"mqtt://{mqttHost}:{mqttPort}",
                ["Pipeline:Wis2:ClientId"] = "pipeline-" + id,
                ["Pipeline:Sources:0:Name"] = "feed",
                ["Pipeline:Sources:0:Type"] = "amqp",
                ["Pipeline:Sources:0:Uri"] = TestServices.AmqpUri,
                ["Pipeline:Sources:0:Exchange"] = exchange,
                ["Pipeline:Sources:0:Queue"] = "q_pipeline." + id,
                ["Pipeline:Sources:0:Topics:0"] = "v03.#",
                ["Pipeline:Sources:0:Format"] = "sarracenia-v03",
            });

            // The source declares and binds its queue once it connects: publish only when the binding exists.
            await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    await using var probe = await amqp.CreateChannelAsync();
                    return (await probe.QueueDeclarePassiveAsync("q_pipeline." + id)).ConsumerCount;
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    return 0u;
                }
            }, n => n > 0, what: "the source consuming its queue");

            foreach (var step in Steps.Concat([Steps[0]])) // the first file twice: one admission, one notification
            {
                var relPath = $"model/20261124/12/model.t12z.f{step:000}.grib2";
                var bytes = await File.ReadAllBytesAsync(Path.Combine(root, "data", relPath));
                var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                {
                    ["pubTime"] = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss.fff"),
                    ["baseUrl"] = server.BaseUrl.AbsoluteUri.TrimEnd('/'),
                    ["relPath"] = relPath,
                    ["integrity"] = new Dictionary<string, string> { ["method"] = "sha512", ["value"] = Convert.ToBase64String(SHA512.HashData(bytes)) },
                    ["size"] = bytes.Length,
                });
                await channel.BasicPublishAsync(exchange, $"v03.model.20261124.12", mandatory: true, new BasicProperties { ContentType = "application/json" }, body);
            }

            using var http = node.Client();
            await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString($"{Dataset}/2026-11-24T12Z")),
                r => r.GetProperty("finalizedGeneration").ValueKind == JsonValueKind.Number, TimeSpan.FromMinutes(3), "the run finalized");

            // Every broker message was acked: nothing waits in the queue.
            await Eventually.HoldsAsync(async () =>
            {
                await using var probe = await amqp.CreateChannelAsync();
                return (await probe.QueueDeclarePassiveAsync("q_pipeline." + id)).MessageCount;
            }, n => n == 0, what: "the queue drained");

            // Outputs in S3.
            var keys = (await s3.ListAllAsync("")).Select(o => o.Key).ToList();
            Assert.True(keys.Contains("test.broker/20261124T1200Z/run.zarr/.zmetadata"), "run Zarr in S3; found: " + string.Join(", ", keys.Take(40)));
            var manifest = JsonNode.Parse(await s3.GetAsync("test.broker/20261124T1200Z/manifest.json"))!;
            Assert.Equal(Steps.Length, manifest["files"]!.AsArray().Count);

            // One notification per file and one for the run, each valid; none twice. Other specs publish on the same
            // topic of the shared broker (IngestNetCdfSpecs, in parallel) and data_id starts with the topic, not the
            // dataset: only notifications linking into this spec's own bucket count.
            var messages = await Eventually.HoldsAsync(() => Task.FromResult(received.Where(m =>
                    JsonNode.Parse(m)?["links"]?[0]?["href"]?.GetValue<string>().StartsWith($"s3://{bucket}/", StringComparison.Ordinal) == true).ToArray()),
                m => m.Length >= Steps.Length + 1, what: "notifications");
            var dataIds = messages.Select(m => JsonNode.Parse(m)!["properties"]!["data_id"]!.GetValue<string>()).ToList();
            Assert.Equal(Steps.Length + 1, dataIds.Distinct().Count());
            Assert.Equal(dataIds.Count, dataIds.Distinct().Count());
            Assert.Contains(dataIds, d => d.EndsWith("/run", StringComparison.Ordinal));
            foreach (var m in messages)
            {
                Assert.Empty(WnmValidator.Validate(m, Topic));
                var wnm = JsonNode.Parse(m)!;
                var link = wnm["links"]![0]!;
                var href = link["href"]!.GetValue<string>();
                Assert.StartsWith($"s3://{bucket}/runs/test.broker/20261124T1200Z/", href);
                if (wnm["properties"]!["data_id"]!.GetValue<string>().EndsWith("/run", StringComparison.Ordinal))
                {
                    Assert.EndsWith("/run.zarr", href);
                    Assert.Equal("application/vnd+zarr", link["type"]!.GetValue<string>());
                    continue;
                }
                // Outputs:FileZarr staging (the default): a file's product is its references, not the staging area.
                Assert.Matches(@"/refs/model\.t12z\.f\d{3}\.grib2\.json$", href);
                Assert.Equal("application/json", link["type"]!.GetValue<string>());
                var refs = await s3.GetAsync(href[$"s3://{bucket}/runs/".Length..]);
                Assert.Equal(Convert.ToBase64String(SHA512.HashData(refs)), wnm["properties"]!["integrity"]!["value"]!.GetValue<string>());
                Assert.Equal(refs.LongLength, link["length"]!.GetValue<long>());
            }
            Assert.DoesNotContain(keys, k => k.Contains("/files/", StringComparison.Ordinal));
            if (SharedData.Root is not null)
                await RunFixtures.ValidateAgainstSchemaAsync(messages, SharedData.Data("wis2", "wnm-schema.json"));
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
