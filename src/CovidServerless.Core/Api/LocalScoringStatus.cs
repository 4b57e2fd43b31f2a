using CovidServerless.Core.Models;

namespace CovidServerless.Core.Api;

/// <summary>Health and models of this process's own catalog: in-process scoring, and the scoring worker itself.</summary>
public sealed class LocalScoringStatus(ModelCatalog catalog) : IScoringStatus
{
    /// <summary>200 only when every model of the manifest loaded, else 503 naming the problems.</summary>
    public ApiResponse Health()
    {
        var body = new HealthReport(
            catalog.IsReady ? HealthReport.Ready : HealthReport.NotReady, catalog.AllModels.Count(), catalog.Problems, catalog.ManifestPath);
        return new ApiResponse(catalog.IsReady ? 200 : 503, body);
    }

    public ApiResponse Models() => ApiResponse.Ok(catalog.AllModels.Select(m => new ModelDescription(
        m.Name, m.Modality.ToName(), m.Entry.Architecture, m.Entry.Version, m.Sha256, m.Entry.Input, m.Entry.Output,
        m.Entry.Validation, catalog.RuleFor(m.Modality)?.Threshold, catalog.RuleFor(m.Modality)?.Abstain)).ToList());

    public Task<ApiResponse> GetHealthAsync(CancellationToken cancellationToken) => Task.FromResult(Health());

    public Task<ApiResponse> GetModelsAsync(CancellationToken cancellationToken) => Task.FromResult(Models());
}
