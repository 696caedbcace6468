using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using MQTTnet;
using MQTTnet.Protocol;
using Pipeline.Streams.Amqp;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Mqtt;
using Pipeline.Streams.Wis2;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Pipeline.Benchmarks;

/// <summary>
/// Broker throughput against real servers (a console mode, not BenchmarkDotNet: a broker run is seconds long
/// and stateful). Usage, with the harness's services running:
/// <c>dotnet run -c Release --project tests/Pipeline.Benchmarks -- broker [amqp|mqtt|all] [messages] [rounds]</c>.
/// Rounds alternate which side goes first; the last lines give the median ratio over the rounds.
/// Reads PIPELINE_TEST_AMQP_URI and PIPELINE_TEST_MQTT.
/// </summary>
internal static class BrokerThroughput
{
    public static async Task RunAsync(string[] args)
    {
        var what = args.Length > 0 ? args[0] : "all";
        var n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2;
        using var system = ActorSystem.Create("bench", "akka.loglevel = WARNING");
        var mat = system.Materializer();
        if (what is "amqp" or "all")
        {
            var uri = new Uri(Environment.GetEnvironmentVariable("PIPELINE_TEST_AMQP_URI") ?? "amqp://guest:guest@127.0.0.1:5672/");
            var ratios = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                double raw, ours;
                string rawCost, ourCost;
                if (round % 2 == 0)
                {
                    (raw, rawCost) = await AmqpRawAsync(uri, n);
                    (ours, ourCost) = await AmqpOursAsync(uri, n, mat);
                }
                else
                {
                    (ours, ourCost) = await AmqpOursAsync(uri, n, mat);
                    (raw, rawCost) = await AmqpRawAsync(uri, n);
                }
                ratios.Add(ours / raw);
                Console.WriteLine($"AMQP consume+ack, {n} msgs, prefetch 1000: raw RabbitMQ.Client {raw:F0} msg/s, AmqpSource {ours:F0} msg/s, ratio {ours / raw:P0}");
                // On a shared, loaded machine wall-clock rates swing with the neighbours; the CPU this process spent
                // per message while consuming and the bytes it allocated are steadier.
                Console.WriteLine($"  cost per message: raw {rawCost}, AmqpSource {ourCost}");
            }
            Console.WriteLine($"AMQP median ratio over {rounds} rounds: {Median(ratios):P0} (min {ratios.Min():P0}, max {ratios.Max():P0})");
        }
        if (what is "mqtt" or "all")
        {
            var hp = (Environment.GetEnvironmentVariable("PIPELINE_TEST_MQTT") ?? "127.0.0.1:1883").Split(':');
            var conn = new MqttConnectionSettings(hp[0], int.Parse(hp[1], System.Globalization.CultureInfo.InvariantCulture), "bench-" + Guid.NewGuid().ToString("N")[..8]);
            var mqttN = Math.Min(n, 50_000);
            var ratios = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var raw = await MqttRawAsync(conn with { ClientId = conn.ClientId + "r" + round }, mqttN);
                var ours = await MqttOursAsync(conn with { ClientId = conn.ClientId + "o" + round }, mqttN, mat);
                ratios.Add(ours / raw);
                Console.WriteLine($"MQTT QoS1 publish, {mqttN} WNM, 1000 in flight: raw MQTTnet {raw:F0} msg/s, Wis2Sink {ours:F0} msg/s, ratio {ours / raw:P0}");
            }
            Console.WriteLine($"MQTT median ratio over {rounds} rounds: {Median(ratios):P0} (min {ratios.Min():P0}, max {ratios.Max():P0})");
        }
        await system.Terminate();
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>This process's CPU time and allocated bytes from construction to <see cref="PerMessage"/>.</summary>
    private readonly struct CostProbe
    {
        private readonly TimeSpan _cpu;
        private readonly long _bytes;

        private CostProbe(TimeSpan cpu, long bytes) => (_cpu, _bytes) = (cpu, bytes);

        public static CostProbe Start()
        {
            GC.Collect();
            return new CostProbe(Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: true));
        }

        public string PerMessage(int n) =>
            $"{(Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalMicroseconds / n:F1} us CPU, " +
            $"{(GC.GetTotalAllocatedBytes(precise: true) - _bytes) / (double)n:F0} B allocated";
    }

    private static async Task<string> FillQueueAsync(Uri uri, int n)
    {
        var queue = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var factory = new ConnectionFactory { Uri = uri };
        await using var c = await factory.CreateConnectionAsync();
        await using var ch = await c.CreateChannelAsync(new CreateChannelOptions(true, true, outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(1000)));
        await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        var body = Encoding.UTF8.GetBytes("""{"pubTime":"20251106T123456.789","baseUrl":"https://dd.example.org","relPath":"bench/file.grib2","size":1}""");
        var pending = new List<Task>(1000);
        for (var i = 0; i < n; i++)
        {
            pending.Add(ch.BasicPublishAsync("", queue, body).AsTask());
            if (pending.Count == 1000) { await Task.WhenAll(pending); pending.Clear(); }
        }
        await Task.WhenAll(pending);
        return queue;
    }

    private static async Task DeleteAsync(Uri uri, string queue)
    {
        var factory = new ConnectionFactory { Uri = uri };
        await using var c = await factory.CreateConnectionAsync();
        await using var ch = await c.CreateChannelAsync();
        await ch.QueueDeleteAsync(queue);
    }

    private static async Task<(double, string)> AmqpRawAsync(Uri uri, int n)
    {
        var queue = await FillQueueAsync(uri, n);
        var factory = new ConnectionFactory { Uri = uri };
        await using var c = await factory.CreateConnectionAsync();
        await using var ch = await c.CreateChannelAsync();
        await ch.BasicQosAsync(0, 1000, false);
        var done = new TaskCompletionSource();
        var count = 0;
        var consumer = new AsyncEventingBasicConsumer(ch);
        consumer.ReceivedAsync += async (_, ea) =>
        {
            _ = ea.Body.ToArray();
            count++;
            if (count % 250 == 0 || count == n) await ch.BasicAckAsync(ea.DeliveryTag, multiple: true);
            if (count == n) done.TrySetResult();
        };
        var probe = CostProbe.Start();
        var sw = Stopwatch.StartNew();
        await ch.BasicConsumeAsync(queue, false, consumer);
        await done.Task;
        var rate = n / sw.Elapsed.TotalSeconds;
        var cost = probe.PerMessage(n);
        await DeleteAsync(uri, queue);
        return (rate, cost);
    }

    private static async Task<(double, string)> AmqpOursAsync(Uri uri, int n, IMaterializer mat)
    {
        var queue = await FillQueueAsync(uri, n);
        await using var connections = new AmqpConnectionProvider(uri, "bench");
        var probe = CostProbe.Start();
        var sw = Stopwatch.StartNew();
        var settings = new AmqpSourceSettings(queue, "", [], Prefetch: 1000);
        // AMQP_BENCH_OUT_OF_ORDER_MS: the source's OutOfOrderAckDelay (diagnosing the stalls seen in some rounds).
        if (int.TryParse(Environment.GetEnvironmentVariable("AMQP_BENCH_OUT_OF_ORDER_MS"), out var ms))
            settings = settings with { OutOfOrderAckDelay = TimeSpan.FromMilliseconds(ms) };
        await AmqpSource.Committable(connections, settings)
            .SelectAsync(1000, m => m.Ack())
            .Take(n)
            .RunWith(Sink.Ignore<bool>(), mat);
        var rate = n / sw.Elapsed.TotalSeconds;
        var cost = probe.PerMessage(n);
        await DeleteAsync(uri, queue);
        return (rate, cost);
    }

    private static WnmMessage Wnm() => new WnmBuilder().Build(new WnmRequest(new Wis2Topic("zz-bench", "medium-range", false), "run/x.zarr",
        new Uri("https://data.example.org/x.zarr"), "application/vnd+zarr", 1234, new byte[64]) { Datetime = DateTimeOffset.UnixEpoch, Bounds = new BoundingBox(-180, -90, 180, 90) });

    private static async Task<double> MqttRawAsync(MqttConnectionSettings conn, int n)
    {
        var wnm = Wnm();
        var payload = Encoding.UTF8.GetBytes(wnm.Json);
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(conn.Host, conn.Port).WithClientId(conn.ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        using var gate = new SemaphoreSlim(1000);
        var sw = Stopwatch.StartNew();
        var tasks = new List<Task>(n);
        for (var i = 0; i < n; i++)
        {
            await gate.WaitAsync();
            var msg = new MqttApplicationMessageBuilder().WithTopic(wnm.Topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            tasks.Add(client.PublishAsync(msg).ContinueWith(_ => gate.Release(), TaskScheduler.Default));
        }
        await Task.WhenAll(tasks);
        var rate = n / sw.Elapsed.TotalSeconds;
        await client.DisconnectAsync();
        return rate;
    }

    private static async Task<double> MqttOursAsync(MqttConnectionSettings conn, int n, IMaterializer mat)
    {
        var wnm = Wnm();
        await using var publisher = new MqttPublisher(conn);
        var parked = new InMemoryDeadLetterStore();
        await publisher.PublishAsync(wnm.Topic, Encoding.UTF8.GetBytes(wnm.Json)); // connect outside the timing, as raw does
        var sw = Stopwatch.StartNew();
        await Source.Repeat(new WnmOutgoing<int>(wnm, 0)).Take(n)
            .Via(Wis2Sink.Publish<int>(publisher, parked, maxInFlight: 1000))
            .RunWith(Sink.Ignore<WnmOutcome<int>>(), mat);
        var rate = n / sw.Elapsed.TotalSeconds;
        if (parked.Letters.Count > 0) throw new InvalidOperationException($"{parked.Letters.Count} parked");
        return rate;
    }
}
