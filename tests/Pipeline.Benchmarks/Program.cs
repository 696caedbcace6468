using BenchmarkDotNet.Running;

// Broker throughput against the harness's servers: dotnet run -c Release --project tests/Pipeline.Benchmarks -- broker [amqp|mqtt|all] [messages]
if (args.Length > 0 && args[0] == "broker")
{
    await Pipeline.Benchmarks.BrokerThroughput.RunAsync(args[1..]);
    return;
}

// Run all: dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
