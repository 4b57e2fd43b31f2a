using CovidServerless.Core.Ingestion;
using Microsoft.Extensions.Options;

namespace CovidServerless.LocalHost;

/// <summary>
/// Runs <see cref="MissedScanSweeper"/> every interval over the scans uploaded since the previous sweep (overlapping
/// by the grace period, so a scan that became visible late is still looked at), starting with the last
/// <see cref="MissedScanSweepOptions.LookbackHours"/> after start.
/// </summary>
public sealed class MissedScanSweep(MissedScanSweeper sweeper, IOptions<MissedScanSweepOptions> options, TimeProvider time, ILogger<MissedScanSweep> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        var grace = TimeSpan.FromSeconds(settings.GraceSeconds);
        var from = time.GetUtcNow() - TimeSpan.FromHours(settings.LookbackHours);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.IntervalSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var to = time.GetUtcNow() - grace;
            try
            {
                await sweeper.SweepAsync(from, to, stoppingToken).ConfigureAwait(false);
                from = to - grace;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage unreachable for now: the next sweep covers this window again.
                logger.LogWarning(ex, "Sweeping for missed scans failed; retrying at the next interval.");
            }
        }
    }
}
