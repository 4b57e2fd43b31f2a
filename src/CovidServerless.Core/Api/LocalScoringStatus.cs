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

    /// <summary>The ensembles' members, then the input gate once per modality it checks (where one is loaded).</summary>
    public ApiResponse Models()
    {
        var members = catalog.AllModels.Select(m => new ModelDescription(
            m.Name, m.Modality.ToName(), m.Entry.Architecture, m.Entry.Version, m.Sha256, m.Entry.Input, m.Entry.Output,
            m.Entry.Validation, catalog.RuleFor(m.Modality)?.Threshold, catalog.RuleFor(m.Modality)?.Abstain,
            catalog.RuleFor(m.Modality)?.Calibration is not null));
        var gate = catalog.Gate;
        var gates = gate is null ? [] : gate.Manifest.Thresholds
            .Where(t => ModalityNames.TryParse(t.Key, out _))
            .Select(t => new ModelDescription(
                gate.Name, t.Key, gate.Manifest.Model.Architecture, gate.Manifest.Model.Version, gate.Sha256,
                gate.Manifest.Model.Input, gate.Manifest.Model.Output, gate.Manifest.Model.Validation,
                Role: ModelDescription.Gate, GateThreshold: t.Value));
        return ApiResponse.Ok(members.Concat(gates).ToList());
    }

    public Task<ApiResponse> GetHealthAsync(CancellationToken cancellationToken) => Task.FromResult(Health());

    public Task<ApiResponse> GetModelsAsync(CancellationToken cancellationToken) => Task.FromResult(Models());
}
