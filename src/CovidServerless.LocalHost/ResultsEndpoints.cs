using CovidServerless.Core.Api;
using CovidServerless.Core.Results;
using Microsoft.AspNetCore.Http.Features;

namespace CovidServerless.LocalHost;

/// <summary>The HTTP contract of the Functions app, on plain ASP.NET Core: routes bound to <see cref="ResultsApi"/> and <see cref="ScanUploadApi"/>.</summary>
public static class ResultsEndpoints
{
    public static IEndpointRouteBuilder MapResultsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/scans/{modality}/{**blobName}", async (HttpContext context, string modality, string blobName, bool? history, ResultsApi results, CancellationToken ct) =>
            Write(await results.GetScanAsync(modality, blobName, context.Features.Get<IHttpRequestFeature>()?.RawTarget, history ?? false, ct)));
        api.MapGet("/scans", async (string? modality, string? top, string? continuationToken, string? status, string? verdict, ResultsApi results, CancellationToken ct) =>
            Write(await results.ListScansAsync(modality, top, continuationToken, ct, status, verdict)));
        api.MapPost("/scans/{modality}", async (HttpContext context, string modality, string? name, ScanUploadApi uploads, CancellationToken ct) =>
        {
            if (FromAnotherSite(context.Request))
            {
                return Results.Json(new ApiError("Uploads are taken from this site's own page only."), statusCode: StatusCodes.Status403Forbidden);
            }

            // The core enforces Images:MaxBytes while it reads (413 with a clear message), so Kestrel's own cap
            // (30,000,000 bytes, under the default limit) must not cut the request off first.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = null;
            }

            return Write(await uploads.UploadAsync(modality, name, context.Request.ContentLength, context.Request.Body, ct));
        });
        api.MapGet("/results/{scanId}", async (string scanId, ScanUploadApi uploads, CancellationToken ct) =>
            Write(await uploads.GetResultAsync(scanId, ct)));
        api.MapGet("/results/{scanId}/image", async (string scanId, ScanUploadApi uploads, CancellationToken ct) =>
            Write(await uploads.GetImageAsync(scanId, ct)));
        api.MapGet("/series/{seriesInstanceUid}", async (string seriesInstanceUid, ResultsApi results, CancellationToken ct) =>
            Write(await results.GetSeriesAsync(seriesInstanceUid, ct)));
        api.MapGet("/results/{scanId}/heatmap", async (string scanId, string? model, ScanUploadApi uploads, CancellationToken ct) =>
            Write(await uploads.GetHeatmapAsync(scanId, model, ct)));
        api.MapGet("/models", async (ResultsApi results, CancellationToken ct) => Write(await results.GetModelsAsync(ct)));
        api.MapGet("/health", async (ResultsApi results, CancellationToken ct) => Write(await results.GetHealthAsync(ct)));
        return app;
    }

    /// <summary>
    /// A page on another site can POST to this loopback address from the user's own browser (a simple request needs
    /// no preflight, and its Host header is ours); browsers say where a request comes from, so such uploads are
    /// refused. Clients that are not browsers send neither header.
    /// </summary>
    internal static bool FromAnotherSite(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site is "cross-site" or "same-site")
        {
            return true;
        }

        var origin = request.Headers.Origin.ToString();
        return origin.Length > 0
            && !string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase);
    }

    private static IResult Write(ApiResponse response)
    {
        IResult body = response.Body is ApiFile file
            ? Results.Bytes(file.Content, file.ContentType)
            : Results.Json(response.Body, ScanResult.JsonOptions, statusCode: response.Status);
        return response.Location is { } location ? new WithLocation(body, location) : body;
    }

    /// <summary>Adds the Location header (an accepted upload's result URL) to another result.</summary>
    private sealed class WithLocation(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
