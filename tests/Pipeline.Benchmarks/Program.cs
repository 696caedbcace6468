using BenchmarkDotNet.Running;

// Broker throughput against the harness's servers: dotnet run -c Release --project tests/Pipeline.Benchmarks -- broker [amqp|mqtt|all] [messages]
if (args.Length > 0 && args[0] == "broker")
{
    await Pipeline.Benchmarks.BrokerThroughput.RunAsync(args[1..]);
    return 0;
}

// End to end (issue 9), beside the Python path in e2e_bench.sh: ... -- e2e N [--resolution DEG] [--out DIR]
if (args.Length > 0 && args[0] == "e2e") return await Pipeline.Benchmarks.E2EBenchmark.RunAsync(args[1..]);

// Store requests and time per file of the ingest graph, s3rver vs local, and s3rver's raw PUT floor: ... -- store-profile [N] [--resolution DEG]
if (args.Length > 0 && args[0] == "store-profile") return await Pipeline.Benchmarks.StoreProfile.RunAsync(args[1..]);

// Packages per minute for a set of boundaries over one run (issue 11): ... -- packaging [N] [--resolution DEG] [--parallel P]
if (args.Length > 0 && args[0] == "packaging") return await Pipeline.Benchmarks.PackagingBenchmark.RunAsync(args[1..]);
// Admission profiling without BenchmarkDotNet: ... -- admission sqlite|postgresql|memory [iterations] [runsPerBatch]
if (args.Length > 0 && args[0] == "admission") return await Pipeline.Benchmarks.AdmissionBenchmarks.RunConsoleAsync(args[1..]);

// Run all: dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*'
// Fetch benchmark halves (see fetch_bench.sh): fetch-serve ... | fetch-client ...
if (args.Length > 0 && args[0].StartsWith("fetch-", StringComparison.Ordinal))
    return await Pipeline.Benchmarks.FetchBench.RunAsync(args);
// GRIB2 decode throughput beside ecCodes: ... -- grib2-throughput [--repeat N] FILE_OR_DIR...
if (args.Length > 0 && args[0] == "jpeg2000-cpu") return Pipeline.Benchmarks.Jpeg2000CpuBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "grib2-throughput") return Pipeline.Benchmarks.Grib2Throughput.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Pipeline.Benchmarks.E2EBenchmark).Assembly).Run(args);
return 0;
