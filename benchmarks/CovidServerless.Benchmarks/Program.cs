using CovidServerless.Benchmarks;
using CovidServerless.DevTools;

return await BenchCommand.Create(RepoPaths.Root, settings =>
        settings.Gpu ? GpuBenchmarks.RunAsync(settings)
        : settings.HeatmapsOnly ? BenchRunner.RunHeatmapsAsync(settings)
        : BenchRunner.RunAsync(settings))
    .Parse(args)
    .InvokeAsync();
