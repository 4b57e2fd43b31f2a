using CovidServerless.Core.Api;
using CovidServerless.Core.Results;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>The results API (function-key authorised), each route bound to the core <see cref="ResultsApi"/>.</summary>
public sealed class ResultsFunctions(ResultsApi api)
{
    [Function("GetScan")]
    public async Task<IActionResult> GetScan(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "scans/{modality}/{*blobName}")] HttpRequest request,
        string modality,
        string blobName,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var history = string.Equals(request.Query["history"], "true", StringComparison.OrdinalIgnoreCase);
        var rawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return Write(await api.GetScanAsync(modality, ScanRoute.BlobName(rawTarget, blobName), history, cancellationToken));
    }

    [Function("ListScans")]
    public async Task<IActionResult> ListScans(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "scans")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Write(await api.ListScansAsync(request.Query["modality"], request.Query["top"], request.Query["continuationToken"], cancellationToken));
    }

    [Function("GetModels")]
    public async Task<IActionResult> GetModels(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models")] HttpRequest request, CancellationToken cancellationToken) =>
        Write(await api.GetModelsAsync(cancellationToken));

    [Function("GetHealth")]
    public async Task<IActionResult> GetHealth(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "health")] HttpRequest request, CancellationToken cancellationToken) =>
        Write(await api.GetHealthAsync(cancellationToken));

    internal static IActionResult Write(ApiResponse response) =>
        new JsonResult(response.Body, ScanResult.JsonOptions) { StatusCode = response.Status };
}
