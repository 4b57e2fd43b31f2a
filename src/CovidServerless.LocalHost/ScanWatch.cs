using CovidServerless.Core.Ingestion;

namespace CovidServerless.LocalHost;

/// <summary>Runs the <see cref="ScanWatcher"/> for the host's lifetime: the local host's blob trigger.</summary>
public sealed class ScanWatch(ScanWatcher watcher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => watcher.RunAsync(stoppingToken);
}
