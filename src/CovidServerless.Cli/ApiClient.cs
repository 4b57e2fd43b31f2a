using System.Net;

namespace CovidServerless.Cli;

/// <summary>Reads the running pipeline's HTTP API (the local host, or the Functions app with a key).</summary>
internal sealed class ApiClient(string baseUrl) : IDisposable
{
    private readonly HttpClient http = new() { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>GET a path under /api; returns (status, body). The Functions key comes from COVIDSCAN_FUNCTION_KEY.</summary>
    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/" + pathAndQuery.TrimStart('/'));
        if (Environment.GetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY") is { Length: > 0 } key)
        {
            request.Headers.Add("x-functions-key", key);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>The API did not answer: refused, unreachable, or past the client's timeout (not the caller's cancellation).</summary>
    public static bool DidNotAnswer(Exception exception, CancellationToken cancellationToken) =>
        exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>What to do about an answer of this status, or "" when there is nothing to suggest.</summary>
    public static string Hint(HttpStatusCode status) =>
        status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? ": set COVIDSCAN_FUNCTION_KEY to a function key" : string.Empty;

    public static string ScanPath(string modality, string blobName) =>
        $"scans/{modality}/{string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString))}";

    public void Dispose() => http.Dispose();
}
