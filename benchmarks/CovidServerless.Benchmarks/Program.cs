using CovidServerless.Benchmarks;
using CovidServerless.DevTools;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("covidscan bench [--gpu | --heatmaps] [--quick] [--json FILE] [--models MANIFEST] [--data SHARED_DATA]");
    return 0;
}

var settings = BenchSettings.Parse(args, RepoPaths.Root);
return settings.Gpu ? await GpuBenchmarks.RunAsync(settings)
    : args.Contains("--heatmaps") ? await BenchRunner.RunHeatmapsAsync(settings)
    : await BenchRunner.RunAsync(settings);
