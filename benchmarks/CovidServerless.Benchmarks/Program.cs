using CovidServerless.Benchmarks;
using CovidServerless.DevTools;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("covidscan bench [--gpu] [--quick] [--json FILE] [--models MANIFEST] [--data SHARED_DATA]");
    return 0;
}

var settings = BenchSettings.Parse(args, RepoPaths.Root);
return settings.Gpu ? await GpuBenchmarks.RunAsync(settings) : await BenchRunner.RunAsync(settings);
