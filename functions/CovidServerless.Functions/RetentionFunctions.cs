using CovidServerless.Core.Results;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>Daily at 02:30 UTC, result rows older than Results:RetentionDays are deleted (the local host runs the same sweep in a loop).</summary>
public sealed class RetentionFunctions(ResultRetention retention)
{
    public const string Schedule = "0 30 2 * * *";

    [Function("SweepExpiredResults")]
    public async Task SweepExpiredResults([TimerTrigger(Schedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        await retention.SweepAsync(cancellationToken).ConfigureAwait(false); // the sweep's figures go to its log line, not a binding
}
