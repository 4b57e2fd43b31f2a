using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Api;

/// <summary>
/// Remote mode. Health reports the worker as the latest scoring request found it (<see cref="WorkerAvailability"/>),
/// without asking it. With the in-process fall-back on, this process's own catalog decides readiness (scans are
/// scored either way) and lists the models; without it, the host is ready unless the worker was unavailable at the
/// latest request, and the models are the worker's own list.
/// </summary>
public sealed class RemoteScoringStatus(
    IHttpClientFactory clients, WorkerAvailability availability, IOptions<ScoringOptions> options, LocalScoringStatus? fallback)
    : IScoringStatus
{
    /// <summary>The client that asks the worker for its models: one request, allowed the scoring budget (a cold start).</summary>
    public const string HttpClientName = "scoring-worker-models";

    private string Endpoint => options.Value.RemoteEndpoint!.ToString();

    public Task<ApiResponse> GetHealthAsync(CancellationToken cancellationToken)
    {
        var last = availability.Last;
        var worker = last is null
            ? new WorkerHealth(Endpoint, WorkerHealth.Unknown)
            : new WorkerHealth(Endpoint, last.Answered ? WorkerHealth.Answering : WorkerHealth.Unavailable, last.Problem, last.At);
        if (fallback is not null)
        {
            var local = fallback.Health();
            return Task.FromResult(local with { Body = (HealthReport)local.Body with { Worker = worker } });
        }

        var unavailable = last is { Answered: false };
        return Task.FromResult(new ApiResponse(
            unavailable ? 503 : 200,
            new HealthReport(
                unavailable ? HealthReport.NotReady : HealthReport.Ready,
                ModelsLoaded: 0,
                unavailable ? [$"The scoring worker at {Endpoint} was unavailable at {last!.At:u}: {last.Problem}"] : [],
                Manifest: null,
                worker)));
    }

    public async Task<ApiResponse> GetModelsAsync(CancellationToken cancellationToken)
    {
        if (fallback is not null)
        {
            return fallback.Models();
        }

        string problem;
        try
        {
            using var response = await clients.CreateClient(HttpClientName).GetAsync("api/models", cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode
                && await response.Content.ReadFromJsonAsync<JsonElement>(ScanResult.JsonOptions, cancellationToken).ConfigureAwait(false) is
                { ValueKind: JsonValueKind.Array } models)
            {
                return ApiResponse.Ok(models);
            }

            problem = $"GET /api/models answered HTTP {(int)response.StatusCode} without a list of models.";
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException
            || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            problem = ex is TaskCanceledException ? "no answer within Scoring:RemoteTimeoutSeconds." : ex.Message;
        }

        return new ApiResponse(503, new ApiError($"The scoring worker at {Endpoint} did not list its models: {problem}"));
    }
}
