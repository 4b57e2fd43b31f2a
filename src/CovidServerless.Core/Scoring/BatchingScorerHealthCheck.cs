using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CovidServerless.Core.Scoring;

/// <summary>Not ready once the batching scorer has run out of memory: the process should be replaced.</summary>
public sealed class BatchingScorerHealthCheck(BatchingScanScorer scorer) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(scorer.Fault is null
            ? HealthCheckResult.Healthy("Batching scorer running.")
            : HealthCheckResult.Unhealthy("The batching scorer ran out of memory; restart the process."));
}
