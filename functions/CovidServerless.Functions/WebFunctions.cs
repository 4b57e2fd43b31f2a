using CovidServerless.Core.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>
/// The browser's routes: uploads and look-ups by scan id (behind Easy Auth and function keys, and through
/// <see cref="ApiAccess"/>, as the results API), and the browser app's static files from wwwroot beside the binaries
/// (the local host's own copy, linked at build).
/// </summary>
public sealed class WebFunctions(ScanUploadApi uploads, ApiAccess access)
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
    };

    /// <summary>The same policy the local host sends (CovidServerless.LocalHost.WebUi): scripts and styles from this origin only.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    [Function("UploadScan")]
    public async Task<IActionResult> UploadScan(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "scans/{modality}")] HttpRequest request,
        string modality,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = request.Query.TryGetValue("name", out var given) ? given.ToString() : null;
        return ResultsFunctions.Write(
            await access.RunAsync(Caller(request), ApiOperation.Upload, "POST /api/scans/{modality}", null,
                () => uploads.UploadAsync(modality, name, request.ContentLength, request.Body, cancellationToken)), request);
    }

    [Function("GetResult")]
    public async Task<IActionResult> GetResult(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "results/{scanId}")] HttpRequest request,
        string scanId,
        CancellationToken cancellationToken) =>
        ResultsFunctions.Write(await Read(request, "GET /api/results/{scanId}", scanId, () => uploads.GetResultAsync(scanId, cancellationToken)), request);

    [Function("GetResultImage")]
    public async Task<IActionResult> GetResultImage(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "results/{scanId}/image")] HttpRequest request,
        string scanId,
        CancellationToken cancellationToken) =>
        ResultsFunctions.Write(await Read(request, "GET /api/results/{scanId}/image", scanId, () => uploads.GetImageAsync(scanId, cancellationToken)), request);

    [Function("GetResultHeatmap")]
    public async Task<IActionResult> GetResultHeatmap(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "results/{scanId}/heatmap")] HttpRequest request,
        string scanId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ResultsFunctions.Write(
            await Read(request, "GET /api/results/{scanId}/heatmap", scanId, () => uploads.GetHeatmapAsync(scanId, request.Query["model"], cancellationToken)), request);
    }

    private static string? Caller(HttpRequest request) => request?.Headers[ApiCaller.PrincipalHeader];

    private Task<ApiResponse> Read(HttpRequest request, string route, string? id, Func<Task<ApiResponse>> call)
    {
        ArgumentNullException.ThrowIfNull(request);
        return access.RunAsync(Caller(request), ApiOperation.Read, route, id, call);
    }

    /// <summary>
    /// GET /api/web/{file}: index.html, app.js, app.css; nothing else (no paths, no listing). Anonymous: the files hold
    /// no data and no secret, and a browser cannot attach a key to the script and style requests the page makes. Every
    /// route the page calls for data or uploads keeps the function key.
    /// </summary>
    [Function("WebApp")]
    public static IActionResult WebApp(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "web/{file?}")] HttpRequest request, string? file)
    {
        ArgumentNullException.ThrowIfNull(request);
        file = string.IsNullOrEmpty(file) ? "index.html" : file;
        var path = Path.Combine(AppContext.BaseDirectory, "wwwroot", file);
        if (file.Contains('/', StringComparison.Ordinal) || file.Contains('\\', StringComparison.Ordinal)
            || !ContentTypes.TryGetValue(Path.GetExtension(file), out var contentType) || !File.Exists(path))
        {
            return new NotFoundResult();
        }

        var headers = request.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        return new PhysicalFileResult(path, contentType);
    }
}
