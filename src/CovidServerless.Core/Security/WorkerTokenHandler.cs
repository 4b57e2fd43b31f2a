using System.Net.Http.Headers;
using Azure.Core;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Security;

/// <summary>
/// Adds "Authorization: Bearer" with an Entra ID token for <see cref="WorkerTokenOptions.Scope"/> to every request
/// to the scoring worker; sends none when no scope is configured (a worker on loopback with auth opted out). Tokens
/// are reused until five minutes before they expire. Requests on many threads read the cached token without a lock:
/// it is one immutable object behind one reference, so a reader sees a whole token and its expiry or none (an
/// AccessToken struct of three fields, copied while another thread writes it, could pair one token with another's expiry).
/// </summary>
public sealed class WorkerTokenHandler(TokenCredential credential, IOptions<WorkerTokenOptions> options, TimeProvider time) : DelegatingHandler
{
    private static readonly TimeSpan RefreshBefore = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim refresh = new(1, 1);
    private volatile CachedToken? cached;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (options.Value.Scope is { Length: > 0 } scope)
        {
            if (request.RequestUri is { } uri && uri.Scheme != Uri.UriSchemeHttps && !uri.IsLoopback)
            {
                throw new InvalidOperationException($"Refusing to send a bearer token over plain http to {uri.GetLeftPart(UriPartial.Authority)}: use https.");
            }

            var token = await GetTokenAsync(scope, cancellationToken).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> GetTokenAsync(string scope, CancellationToken cancellationToken)
    {
        if (cached is { } token && token.Fresh(time))
        {
            return token.Value;
        }

        await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (cached is not { } current || !current.Fresh(time))
            {
                var issued = await credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken).ConfigureAwait(false);
                cached = current = new CachedToken(issued.Token, issued.ExpiresOn);
            }

            return current.Value;
        }
        finally
        {
            refresh.Release();
        }
    }

    private sealed record CachedToken(string Value, DateTimeOffset ExpiresOn)
    {
        public bool Fresh(TimeProvider time) => ExpiresOn - RefreshBefore > time.GetUtcNow();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            refresh.Dispose();
        }

        base.Dispose(disposing);
    }
}
