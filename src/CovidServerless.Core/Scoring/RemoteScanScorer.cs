using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// Checks a scan's file as the decoder does, short of decoding its pixels (so a file that cannot be a scan is
/// rejected here even when the worker is down), then sends it to the GPU scoring worker
/// (<c>POST /score/{modality}</c>). The HTTP client carries the standard resilience pipeline (timeouts, jittered
/// retries, circuit breaker). When the worker stays unavailable the scan goes to <paramref name="fallback"/>, or,
/// without one, the attempt fails so the trigger retries it later. A worker that refuses this host's credentials
/// (401/403) is a configuration error: <see cref="WorkerAuthorizationException"/>, logged, with no fallback.
/// </summary>
public sealed class RemoteScanScorer(
    ScanDecoder decoder,
    IHttpClientFactory clients,
    WorkerAvailability availability,
    IScanScorer? fallback,
    ILogger<RemoteScanScorer> logger)
    : IScanScorer
{
    public const string HttpClientName = "scoring-worker";

    public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        decoder.Validate(image.Span, modality);
        try
        {
            return await ScoreRemotelyAsync(modality, image, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            availability.Unavailable(ex.Message);
            if (fallback is null)
            {
                throw new ScoringUnavailableException("The scoring worker is unavailable; the scan will be retried.", ex);
            }

            logger.LogWarning("Scoring worker unavailable ({Reason}); scoring in-process.", ex.Message);
            return await fallback.ScoreAsync(modality, image, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<EnsembleScore> ScoreRemotelyAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var http = clients.CreateClient(HttpClientName);
        using var response = await http.PostAsync($"score/{modality.ToName()}", content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw Refused(response);
        }

        if (response.StatusCode == HttpStatusCode.UnprocessableEntity)
        {
            var rejection = await response.Content.ReadFromJsonAsync<WorkerError>(cancellationToken).ConfigureAwait(false);
            availability.Answered();
            var reason = rejection?.Error ?? "The scoring worker rejected the scan.";
            throw rejection?.Gate is { } gate ? new GateRejectedException(reason, gate) : new ScanRejectedException(reason);
        }

        response.EnsureSuccessStatusCode();
        var score = await response.Content.ReadFromJsonAsync<EnsembleScore>(WorkerJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new HttpRequestException("The scoring worker returned an empty body.");
        availability.Answered();
        return score;
    }

    /// <summary>
    /// Logs and describes a refusal by status and the bearer error code only: never the token, the worker's
    /// description (which can quote the token's audience or issuer) or anything about the scan.
    /// </summary>
    private WorkerAuthorizationException Refused(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        var code = response.Headers.WwwAuthenticate.Select(h => BearerError(h.Parameter)).FirstOrDefault(e => e is not null) ?? "none";
        var problem = response.StatusCode == HttpStatusCode.Forbidden
            ? "accepted this host's token but it lacks the worker's app role (WorkerAuth:RequiredRole, e.g. Scoring.Invoke): assign the role to this host's identity"
            : "did not accept this host's token: check WorkerToken:Scope against the worker's WorkerAuth:Audience and WorkerAuth:TenantId, and this host's identity";
        availability.Unavailable($"The scoring worker refused this host's credentials (HTTP {status}).");
        logger.LogError(
            "Configuration error: the scoring worker answered HTTP {Status} (bearer error {BearerError}); it {Problem}. Scans are not scored until this is fixed.",
            status, code, problem);
        return new WorkerAuthorizationException($"The scoring worker answered HTTP {status}: it {problem}.");
    }

    /// <summary>The <c>error</c> of a Bearer challenge when it is one of RFC 6750's codes; anything else is not repeated.</summary>
    private static string? BearerError(string? parameter)
    {
        foreach (var code in (string[])["invalid_token", "invalid_request", "insufficient_scope"])
        {
            if (parameter?.Contains($"error=\"{code}\"", StringComparison.Ordinal) == true)
            {
                return code;
            }
        }

        return null;
    }

    private static bool IsUnavailable(Exception ex) =>
        ex is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or TaskCanceledException;

    private sealed record WorkerError(string Error, GateResult? Gate);
}
