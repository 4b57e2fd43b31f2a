using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Api;

/// <summary>
/// Remote mode: asks the scoring worker, which serves the same two routes. With the in-process fall-back on, this
/// process's own catalog decides readiness (scans are scored either way) and the worker's state is reported beside
/// it; without it, the worker's answer is the host's, and a worker that does not answer makes the host not ready.
/// </summary>
public sealed class RemoteScoringStatus(IHttpClientFactory clients, IOptions<ScoringOptions> options, LocalScoringStatus? fallback)
    : IScoringStatus
{
    /// <summary>A client without the scoring pipeline's retries: a health probe wants a prompt answer.</summary>
    public const string HttpClientName = "scoring-worker-status";

    private string Endpoint => options.Value.RemoteEndpoint!.ToString();

    public async Task<ApiResponse> GetHealthAsync(CancellationToken cancellationToken)
    {
        // 503 is the worker's own "not ready", with its report; anything else but 200 means it did not answer.
        var (status, report, problem) = await AskWorkerAsync<HealthReport>("api/health", [200, 503], cancellationToken).ConfigureAwait(false);
        var worker = report is null
            ? new WorkerHealth(Endpoint, WorkerHealth.Unreachable, problem)
            : new WorkerHealth(Endpoint, report.Status, report.Problems.Count > 0 ? string.Join(" ", report.Problems) : null);
        if (fallback is not null)
        {
            var local = fallback.Health();
            return local with { Body = (HealthReport)local.Body with { Worker = worker } };
        }

        return report is null
            ? new ApiResponse(503, new HealthReport(HealthReport.NotReady, 0, [$"The scoring worker at {Endpoint} did not answer: {problem}"], "", worker))
            : new ApiResponse(status, report with { Worker = worker });
    }

    public async Task<ApiResponse> GetModelsAsync(CancellationToken cancellationToken)
    {
        var (_, models, problem) = await AskWorkerAsync<JsonElement>("api/models", [200], cancellationToken).ConfigureAwait(false);
        if (problem is null)
        {
            return ApiResponse.Ok(models);
        }

        return fallback?.Models()
            ?? new ApiResponse(503, new ApiError($"The scoring worker at {Endpoint} did not list its models: {problem}"));
    }

    private async Task<(int Status, T? Body, string? Problem)> AskWorkerAsync<T>(
        string route, int[] expectedStatuses, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await clients.CreateClient(HttpClientName).GetAsync(route, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (!expectedStatuses.Contains(status))
            {
                return (status, default, $"GET /{route} answered HTTP {status}.");
            }

            var body = await response.Content.ReadFromJsonAsync<T>(ScanResult.JsonOptions, cancellationToken).ConfigureAwait(false);
            return body is null ? (status, default, $"GET /{route} answered an empty body.") : (status, body, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or NotSupportedException
            || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (0, default, ex is TaskCanceledException ? $"GET /{route} gave no answer within the time allowed." : ex.Message);
        }
    }
}
