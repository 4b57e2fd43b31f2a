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

    /// <summary>
    /// Why a function key must not go to this API (plain http to another machine: anyone on the path reads it), or
    /// null when it may. The key is only sent when COVIDSCAN_FUNCTION_KEY is set.
    /// </summary>
    public static string? KeyRefusal(string baseUrl)
    {
        if (Environment.GetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY") is not { Length: > 0 }
            || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsLoopback)
        {
            return null;
        }

        return $"Refusing to send COVIDSCAN_FUNCTION_KEY over plain http to {uri.GetLeftPart(UriPartial.Authority)}: use https (or unset the key for a local API).";
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
