using System.Net;

namespace CovidServerless.Cli;

/// <summary>
/// Reads the running pipeline's HTTP API: the local host, or the Functions app, which wants an Entra ID token
/// (COVIDSCAN_TOKEN, for Easy Auth) and a function key (COVIDSCAN_FUNCTION_KEY).
/// </summary>
internal sealed class ApiClient(string baseUrl) : IDisposable
{
    private readonly HttpClient http = new() { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };

    private const string KeyVariable = "COVIDSCAN_FUNCTION_KEY";
    private const string TokenVariable = "COVIDSCAN_TOKEN";

    /// <summary>GET a path under /api; returns (status, body), sending the token and key that are set.</summary>
    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/" + pathAndQuery.TrimStart('/'));
        if (Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } key)
        {
            request.Headers.Add("x-functions-key", key);
        }

        if (Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } token)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>
    /// Why a function key or token must not go to this API (plain http to another machine: anyone on the path reads
    /// it), or null when they may. Each is only sent when its variable is set.
    /// </summary>
    public static string? KeyRefusal(string baseUrl)
    {
        var set = new[] { KeyVariable, TokenVariable }.Where(v => Environment.GetEnvironmentVariable(v) is { Length: > 0 }).ToList();
        if (set.Count == 0 || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsLoopback)
        {
            return null;
        }

        return $"Refusing to send {string.Join(" and ", set)} over plain http to {uri.GetLeftPart(UriPartial.Authority)}: use https (or unset them for a local API).";
    }

    /// <summary>The API did not answer: refused, unreachable, or past the client's timeout (not the caller's cancellation).</summary>
    public static bool DidNotAnswer(Exception exception, CancellationToken cancellationToken) =>
        exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>What to do about an answer of this status, or "" when there is nothing to suggest.</summary>
    public static string Hint(HttpStatusCode status) =>
        status switch
        {
            HttpStatusCode.Unauthorized => $": set {TokenVariable} to an Entra ID token for the API and {KeyVariable} to a function key",
            HttpStatusCode.Forbidden => ": the token's caller needs the API's app role (Results.Read to read)",
            _ => string.Empty,
        };

    public static string ScanPath(string modality, string blobName) =>
        $"scans/{modality}/{string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString))}";

    public void Dispose() => http.Dispose();
}
