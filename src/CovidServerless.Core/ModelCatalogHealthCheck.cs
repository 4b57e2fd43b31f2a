using CovidServerless.Core.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CovidServerless.Core;

/// <summary>Ready only when every model of the manifest loaded; otherwise names what is missing.</summary>
public sealed class ModelCatalogHealthCheck(ModelCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["manifest"] = catalog.ManifestPath,
            ["models"] = catalog.AllModels.Select(m => $"{m.Modality.ToName()}/{m.Name}").ToArray(),
            ["problems"] = catalog.Problems.ToArray(),
        };
        return Task.FromResult(catalog.IsReady
            ? HealthCheckResult.Healthy($"{catalog.AllModels.Count()} models loaded.", data)
            : HealthCheckResult.Unhealthy(string.Join(" ", catalog.Problems.DefaultIfEmpty("Not every modality has models.")), data: data));
    }
}
