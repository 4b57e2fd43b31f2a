using CovidServerless.Core.Api;
using CovidServerless.Core.Results;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>
/// The results API, each route bound to the core <see cref="ResultsApi"/> behind Easy Auth and function keys, and
/// run through <see cref="ApiAccess"/> (the reader's app role, an access-log line per call).
/// </summary>
public sealed class ResultsFunctions(ResultsApi api, ApiAccess access)
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

        // No raw target: the Functions host forwards each request to this worker through a proxy (YARP) that
        // re-encodes the path the host decoded, so a client's "%2F" and "%252F" would arrive alike (read from their
        // sources, not checked against a running host); the route value's readings are tried instead.
        return Write(await Read(request, "GET /api/scans/{modality}/{blobName}", null,
            () => api.GetScanAsync(modality, blobName, rawTarget: null, history, cancellationToken)));
    }

    [Function("ListScans")]
    public async Task<IActionResult> ListScans(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "scans")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Write(await Read(request, "GET /api/scans", null, () => api.ListScansAsync(
            request.Query["modality"], request.Query["top"], request.Query["continuationToken"], cancellationToken, request.Query["status"], request.Query["verdict"])));
    }

    [Function("GetSeries")]
    public async Task<IActionResult> GetSeries(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "series/{seriesInstanceUid}")] HttpRequest request,
        string seriesInstanceUid,
        CancellationToken cancellationToken) =>
        Write(await Read(request, "GET /api/series/{seriesInstanceUid}", null, () => api.GetSeriesAsync(seriesInstanceUid, cancellationToken)));

    [Function("GetModels")]
    public async Task<IActionResult> GetModels(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models")] HttpRequest request, CancellationToken cancellationToken) =>
        Write(await Read(request, "GET /api/models", null, () => api.GetModelsAsync(cancellationToken)));

    [Function("GetHealth")]
    public async Task<IActionResult> GetHealth(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "health")] HttpRequest request, CancellationToken cancellationToken) =>
        Write(await Read(request, "GET /api/health", null, () => api.GetHealthAsync(cancellationToken)));

    private Task<ApiResponse> Read(HttpRequest request, string route, string? id, Func<Task<ApiResponse>> call) =>
        access.RunAsync(request.Headers[ApiCaller.PrincipalHeader], ApiOperation.Read, route, id, call);

    internal static IActionResult Write(ApiResponse response, HttpRequest? request = null)
    {
        if (response.Location is { } location && request is not null)
        {
            request.HttpContext.Response.Headers.Location = location;
        }

        if (response.Body is ApiFile file)
        {
            request?.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
            return new FileContentResult(file.Content.ToArray(), file.ContentType);
        }

        return new JsonResult(response.Body, ScanResult.JsonOptions) { StatusCode = response.Status };
    }
}
