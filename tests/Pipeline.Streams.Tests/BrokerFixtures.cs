using System.Diagnostics;
using Pipeline.Testing;
using RabbitMQ.Client;

namespace Pipeline.Streams.Tests;

/// <summary>Helpers for the broker specs: real CLI clients, the harness's control scripts, condition polling.</summary>
internal static class BrokerFixtures
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>amqp-tools want no trailing slash (it would name the empty vhost).</summary>
    public static string AmqpToolsUrl => TestServices.AmqpUri.TrimEnd('/');

    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, string? stdin = null,
        TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>Publishes with amqp-publish (rabbitmq-c), one message per line when <paramref name="lines"/>.</summary>
    public static async Task AmqpPublishAsync(string exchange, string routingKey, string body, bool lines = false,
        params string[] headers)
    {
        var args = new List<string> { "-u", AmqpToolsUrl, "-e", exchange, "-r", routingKey, "-p" };
        foreach (var h in headers) { args.Add("-H"); args.Add(h); }
        if (lines) args.Add("-l");
        else { args.Add("-b"); args.Add(body); }
        var (code, output) = await RunAsync("amqp-publish", args, lines ? body : null);
        if (code != 0) throw new InvalidOperationException($"amqp-publish exited {code}: {output}");
    }

    public static async Task DeclareAsync(string exchange, string queue, params string[] keys)
    {
        var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
        await using var c = await factory.CreateConnectionAsync();
        await using var ch = await c.CreateChannelAsync();
        await ch.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true);
        await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        foreach (var k in keys) await ch.QueueBindAsync(queue, exchange, k);
    }

    /// <summary>
    /// True once a consumer is on the queue: a source declares its queue, binds it and only then consumes, so a
    /// message published after this is routed to it (a queue that merely exists may not be bound yet).
    /// </summary>
    public static async Task<bool> ConsumingAsync(string queue)
    {
        try
        {
            var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
            await using var c = await factory.CreateConnectionAsync();
            await using var ch = await c.CreateChannelAsync();
            return (await ch.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return false; // not declared yet
        }
    }

    /// <summary>Messages ready (not delivered) in a queue.</summary>
    public static async Task<uint> ReadyAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
        await using var c = await factory.CreateConnectionAsync();
        await using var ch = await c.CreateChannelAsync();
        var ok = await ch.QueueDeclarePassiveAsync(queue);
        return ok.MessageCount;
    }

    public static async Task DeleteQueueAsync(string queue)
    {
        try
        {
            var factory = new ConnectionFactory { Uri = new Uri(TestServices.AmqpUri) };
            await using var c = await factory.CreateConnectionAsync();
            await using var ch = await c.CreateChannelAsync();
            await ch.QueueDeleteAsync(queue);
        }
        catch (Exception) { /* best effort cleanup */ }
    }

    /// <summary>Runs the harness's stop|start script for a broker (it blocks until done).</summary>
    public static async Task ControlAsync(string variable, string verb)
    {
        var script = Environment.GetEnvironmentVariable(variable)
                     ?? throw new InvalidOperationException($"{variable} is not set: run under ./build.sh test or services");
        var (code, output) = await RunAsync(script, [verb], timeout: TimeSpan.FromMinutes(3));
        if (code != 0) throw new InvalidOperationException($"{script} {verb} exited {code}: {output}");
    }

    /// <summary>Polls until the condition holds; fails with the description when the deadline passes.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan deadline, Func<string> describe)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > deadline) throw new TimeoutException($"not reached within {deadline}: {describe()}");
            await Task.Delay(50);
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan deadline, Func<string> describe)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > deadline) throw new TimeoutException($"not reached within {deadline}: {describe()}");
            await Task.Delay(100);
        }
    }
}

/// <summary>The specs that use the real brokers run one at a time: two of them restart a broker mid-test.</summary>
[Xunit.CollectionDefinition(Name)]
public sealed class BrokerCollection
{
    public const string Name = "real brokers (restarted mid-test)";
}
