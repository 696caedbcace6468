using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*'
// GRIB2 decode throughput beside ecCodes: ... -- grib2-throughput [--repeat N] FILE_OR_DIR...
if (args.Length > 0 && args[0] == "grib2-throughput") return Pipeline.Benchmarks.Grib2Throughput.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
