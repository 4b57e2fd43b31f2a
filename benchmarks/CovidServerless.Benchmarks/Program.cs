using CovidServerless.Benchmarks;
using CovidServerless.TestSupport;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("covidscan bench [--quick] [--json FILE] [--models MANIFEST] [--data SHARED_DATA]");
    return 0;
}

return await BenchRunner.RunAsync(BenchSettings.Parse(args, RepoPaths.Root));
