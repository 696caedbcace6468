using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Pipeline.Testing;
using RabbitMQ.Client;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Simulation;

/// <summary>
/// RabbitMQ stops and starts in the middle of a run fed by an AMQP source from configuration: the node says it is not
/// ready while the broker is away, reconnects by itself, and the run completes with every file fetched and written
/// once (messages whose ack was lost with the connection come again and are recognised as duplicates).
/// Restarts the shared broker, so the harness runs it alone after the suite (category BrokerRestart).
/// </summary>
public sealed class BrokerRestartSimulationSpecs(ITestOutputHelper output)
{
    private const string Dataset = "sim.restart";
    private static readonly int[] Steps = [0, 3, 6, 9, 12, 15, 18, 21];

    [ServiceFact(Service.RabbitMq, Service.Python)]
    [Trait(TestCategories.Category, TestCategories.BrokerRestart)]
    public async Task Should_complete_the_run_once_with_nothing_lost_when_rabbitmq_restarts_mid_run()
    {
        var root = Directory.CreateTempSubdirectory("pipeline-restart-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            await RunFixtures.RunAsync(Path.Combine(data, "m", "20261124", "00"), "20261124", 0, Steps);
            await using var server = await LocalFileServer.StartAsync(data);
            var id = Guid.NewGuid().ToString("N")[..10];
            var exchange = "xpublic-" + id;
            var queue = "q_pipeline." + id;
            var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
            await using (var setup = await factory.CreateConnectionAsync())
            await using (var ch = await setup.CreateChannelAsync())
                await ch.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true); // survives the restart

            await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
            {
                ["Pipeline:Datasets:0:Id"] = Dataset,
                ["Pipeline:Datasets:0:PathPatterns:0"] = @"^m/(?<date>\d{8})/(?<run>\d{2})/model\.t\d{2}z\.f(?<step>\d{3})\.grib2$",
                ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = Steps.Length.ToString(),
                ["Pipeline:Datasets:0:Outputs:Store"] = Path.Combine(root, "store"),
                ["Pipeline:Sources:0:Name"] = "feed",
                ["Pipeline:Sources:0:Type"] = "amqp",
                ["Pipeline:Sources:0:Uri"] = TestServices.AmqpUri,
                ["Pipeline:Sources:0:Exchange"] = exchange,
                ["Pipeline:Sources:0:Queue"] = queue,
                ["Pipeline:Sources:0:Topics:0"] = "v03.#",
                ["Pipeline:Sources:0:Format"] = "sarracenia-v03",
            });
            using var http = node.Client();
            await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromMinutes(2), "ready, source connected");

            // The first half, published persistent; then the broker goes away while the node works on them.
            await PublishAsync(factory, exchange, server.BaseUrl, data, Steps[..4]);
            await Eventually.HoldsAsync(() => Run(http), r => r?.GetProperty("admitted").GetInt32() + r?.GetProperty("indexed").GetInt32() >= 1,
                TimeSpan.FromMinutes(2), "the first files admitted");
            await ControlAsync("stop");
            var notReady = await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.StatusCode == HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromMinutes(2), "not ready while the broker is down");
            output.WriteLine(await notReady.Content.ReadAsStringAsync());
            await ControlAsync("start");

            // The source reconnects and re-declares its queue by itself; the second half goes through the new connection.
            await Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromMinutes(3), "ready again");
            await PublishAsync(factory, exchange, server.BaseUrl, data, Steps[4..]);

            var run = await Eventually.HoldsAsync(() => Run(http), r => r?.GetProperty("finalizedGeneration").ValueKind == JsonValueKind.Number,
                TimeSpan.FromMinutes(4), "the run finalized");
            Assert.Equal((Steps.Length, 0), (run!.Value.GetProperty("indexed").GetInt32(), run.Value.GetProperty("failed").GetInt32()));
            Assert.All(Steps, s => Assert.Equal(1, server.Requests(Rel(s)))); // redeliveries were duplicates, not second downloads
            var perFile = Directory.GetDirectories(Path.Combine(root, "store", Dataset, "20261124T0000Z", "staging")).Length; // Outputs:FileZarr staging (default)
            Assert.Equal(Steps.Length, perFile);
            await Eventually.HoldsAsync(async () =>
            {
                await using var c = await factory.CreateConnectionAsync();
                await using var ch = await c.CreateChannelAsync();
                return (await ch.QueueDeclarePassiveAsync(queue)).MessageCount;
            }, n => n == 0, what: "every message acked");
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

    private static string Rel(int step) => $"m/20261124/00/model.t00z.f{step:000}.grib2";

    private static async Task<JsonElement?> Run(HttpClient http)
    {
        var response = await http.GetAsync("/api/runs/" + Uri.EscapeDataString($"{Dataset}/2026-11-24T00Z"));
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : null;
    }

    private static async Task PublishAsync(ConnectionFactory factory, string exchange, Uri baseUrl, string data, IEnumerable<int> steps)
    {
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        foreach (var step in steps)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(data, Rel(step)));
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["pubTime"] = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss.fff"),
                ["baseUrl"] = baseUrl.AbsoluteUri.TrimEnd('/'),
                ["relPath"] = Rel(step),
                ["integrity"] = new Dictionary<string, string> { ["method"] = "sha512", ["value"] = Convert.ToBase64String(SHA512.HashData(bytes)) },
                ["size"] = bytes.Length,
            });
            await channel.BasicPublishAsync(exchange, "v03.m.20261124.00", mandatory: true,
                new BasicProperties { ContentType = "application/json", Persistent = true }, body);
        }
    }

    private static async Task ControlAsync(string verb)
    {
        var script = Environment.GetEnvironmentVariable("PIPELINE_TEST_RABBITMQ_CTL")
                     ?? throw new InvalidOperationException("PIPELINE_TEST_RABBITMQ_CTL is not set: run under ./build.sh test");
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(script, verb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token);
        Assert.True(process.ExitCode == 0, $"{script} {verb} exited {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
    }
}
