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
/// without one, the attempt fails so the trigger retries it later.
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

    private static bool IsUnavailable(Exception ex) =>
        ex is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or TaskCanceledException;

    private sealed record WorkerError(string Error, GateResult? Gate);
}
