using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CovidServerless.Worker;

/// <summary>
/// POST /score/{modality} with the image bytes as the body: the ensemble's answer, batched with other requests; and
/// /api/models and /api/health.
/// </summary>
public static class ScoringEndpoints
{
    public static IEndpointRouteBuilder MapScoring(this IEndpointRouteBuilder app)
    {
        app.MapPost("/score/{modality}", ScoreAsync);

        // The hosts' own routes, answered the same way, so that a host in Remote mode reports the worker's models.
        app.MapGet("/api/models", (LocalScoringStatus status) => Write(status.Models()));
        app.MapGet("/api/health", (LocalScoringStatus status) => Write(status.Health()));
        return app;
    }

    /// <summary>What a busy worker asks its callers to wait before they send a scan again.</summary>
    public const int RetryAfterSeconds = 2;

    private static void Count(Modality modality, string outcome) => PipelineTelemetry.WorkerRequests.Add(
        1, new KeyValuePair<string, object?>("modality", modality.ToName()), new KeyValuePair<string, object?>("outcome", outcome));

    private static IResult Write(ApiResponse response) => Results.Json(response.Body, ScanResult.JsonOptions, statusCode: response.Status);

    /// <param name="cancellationToken">
    /// The request's abort token (minimal APIs bind it to HttpContext.RequestAborted): a caller that gives up or
    /// disconnects before its batch runs is dropped from the batch unscored (<see cref="BatchingScanScorer"/>).
    /// </param>
    private static async Task<IResult> ScoreAsync(
        string modality, HttpRequest request, IScanScorer scorer, IOptions<ImageLimitsOptions> limits, CancellationToken cancellationToken)
    {
        if (!ModalityNames.TryParse(modality, out var parsed))
        {
            return Results.BadRequest(new { error = $"Unknown modality '{modality}': use 'chest' or 'ct'." });
        }

        if (request.ContentLength > limits.Value.MaxBytes)
        {
            Count(parsed, "rejected");
            return Results.UnprocessableEntity(new { error = $"The file is {request.ContentLength:N0} bytes, over the {limits.Value.MaxBytes:N0}-byte limit." });
        }

        // Kestrel's own limit (30,000,000 bytes by default) would refuse scans the image limit allows.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = limits.Value.MaxBytes;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        try
        {
            var score = await scorer.ScoreAsync(parsed, body.GetBuffer().AsMemory(0, (int)body.Length), cancellationToken);
            Count(parsed, "scored");
            return Results.Json(score, WorkerJson.Options);
        }
        catch (ScanRejectedException ex)
        {
            Count(parsed, "rejected");
            // The gate's figures travel with its reason, so the caller's result shows them as an in-process one does.
            return Results.UnprocessableEntity(new { error = ex.Message, gate = (ex as GateRejectedException)?.Gate });
        }
        catch (ModelsUnavailableException ex)
        {
            Count(parsed, "unavailable");
            return Results.Json(new { error = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        catch (ScoringUnavailableException ex)
        {
            // The scoring queue or the decoded-pixel budget is full: the host's resilience pipeline waits this long
            // and sends the scan again (or its trigger retries it later), so nothing is lost.
            Count(parsed, "busy");
            request.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Json(new { error = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
