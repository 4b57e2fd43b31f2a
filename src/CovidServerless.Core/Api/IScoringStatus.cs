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

/// <summary>The body of GET /api/health. <see cref="Worker"/> is set in Remote mode only.</summary>
public sealed record HealthReport(
    string Status, int ModelsLoaded, IReadOnlyList<string> Problems, string Manifest, WorkerHealth? Worker = null)
{
    public const string Ready = "ready";
    public const string NotReady = "not-ready";
}

/// <summary>How the scoring worker answered a host's GET /api/health: ready, not-ready or unreachable.</summary>
public sealed record WorkerHealth(string Endpoint, string Status, string? Problem = null)
{
    public const string Unreachable = "unreachable";
}

public sealed record ModelDescription(
    string Name, string Modality, string? Architecture, string Version, string Sha256, Models.ModelInputSpec Input, Models.ModelOutputSpec Output);
