using CovidServerless.Core.Ingestion;

namespace CovidServerless.LocalHost;

/// <summary>Runs the <see cref="ScanWatcher"/> for the host's lifetime: the local host's blob trigger.</summary>
public sealed class ScanWatch(ScanWatcher watcher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => watcher.RunAsync(stoppingToken);
}

/// <summary>Runs the <see cref="Core.Series.SeriesAggregator"/>'s loop for the host's lifetime: the function app's series timer.</summary>
public sealed class SeriesWatch(Core.Series.SeriesAggregator aggregator) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => aggregator.RunAsync(stoppingToken);
}
