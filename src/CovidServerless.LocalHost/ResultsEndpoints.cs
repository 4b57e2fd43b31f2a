using CovidServerless.Core.Api;
using CovidServerless.Core.Results;
using Microsoft.AspNetCore.Http.Features;

namespace CovidServerless.LocalHost;

/// <summary>The HTTP contract of the Functions app, on plain ASP.NET Core: routes bound to <see cref="ResultsApi"/>.</summary>
public static class ResultsEndpoints
{
    public static IEndpointRouteBuilder MapResultsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/scans/{modality}/{**blobName}", async (HttpContext context, string modality, string blobName, bool? history, ResultsApi results, CancellationToken ct) =>
            Write(await results.GetScanAsync(modality, blobName, context.Features.Get<IHttpRequestFeature>()?.RawTarget, history ?? false, ct)));
        api.MapGet("/scans", async (string? modality, string? top, string? continuationToken, ResultsApi results, CancellationToken ct) =>
            Write(await results.ListScansAsync(modality, top, continuationToken, ct)));
        api.MapGet("/models", async (ResultsApi results, CancellationToken ct) => Write(await results.GetModelsAsync(ct)));
        api.MapGet("/health", async (ResultsApi results, CancellationToken ct) => Write(await results.GetHealthAsync(ct)));
        return app;
    }

    private static IResult Write(ApiResponse response) =>
        Results.Json(response.Body, ScanResult.JsonOptions, statusCode: response.Status);
}
