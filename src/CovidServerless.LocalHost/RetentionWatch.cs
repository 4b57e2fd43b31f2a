using CovidServerless.Core.Results;

namespace CovidServerless.LocalHost;

/// <summary>Runs the <see cref="ResultRetention"/> loop for the host's lifetime: the function app's daily retention timer.</summary>
public sealed class RetentionWatch(ResultRetention retention) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => retention.RunAsync(stoppingToken);
}
