namespace CovidServerless.Core.Api;

/// <summary>
/// Answers GET /api/health and GET /api/models for the scoring path this process uses, so that a host in Remote
/// mode reports the models that score its scans (the worker's) rather than loading its own to describe them.
/// </summary>
public interface IScoringStatus
{
    Task<ApiResponse> GetHealthAsync(CancellationToken cancellationToken);

    Task<ApiResponse> GetModelsAsync(CancellationToken cancellationToken);
}
