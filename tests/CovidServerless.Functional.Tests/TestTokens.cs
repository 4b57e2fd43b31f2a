using System.Security.Claims;
using System.Security.Cryptography;
using Azure.Core;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// Entra ID-shaped access tokens signed by a key of the test's own, and the one change a test worker needs to trust
/// that key in place of the tenant's published keys (no metadata is fetched). Issuer and audience checks stay the
/// worker's own.
/// </summary>
public sealed class TestTokens : IDisposable
{
    public const string TenantId = "11111111-2222-3333-4444-555555555555";
    public const string Audience = "api://covidscan-worker-test";
    public const string Role = "Scoring.Invoke";

    private readonly RSA rsa = RSA.Create(2048);

    public TestTokens() => Key = new RsaSecurityKey(rsa) { KeyId = "test-key" };

    public RsaSecurityKey Key { get; }

    public static string Issuer => $"https://login.microsoftonline.com/{TenantId}/v2.0";

    /// <summary>The worker's settings for <see cref="TenantId"/> and <see cref="Audience"/>.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> WorkerSettings =>
    [
        new("WorkerAuth:TenantId", TenantId),
        new("WorkerAuth:Audience", Audience),
    ];

    public void Trust(IServiceCollection services) =>
        services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, jwt =>
        {
            jwt.Configuration = new OpenIdConnectConfiguration();
            jwt.Configuration.SigningKeys.Add(Key);
        });

    public string Create(
        string? audience = Audience, string? issuer = null, string[]? roles = null, DateTime? expires = null, SecurityKey? signingKey = null)
    {
        var now = DateTime.UtcNow;
        var notBefore = expires is { } e && e < now ? e.AddHours(-1) : now.AddMinutes(-1);
        var claims = new Dictionary<string, object> { ["oid"] = "00000000-0000-0000-0000-00000000cafe", ["tid"] = TenantId };
        if ((roles ?? [Role]) is { Length: > 0 } granted)
        {
            claims["roles"] = granted;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            NotBefore = notBefore,
            IssuedAt = notBefore,
            Expires = expires ?? now.AddHours(1),
            Claims = claims,
            Subject = new ClaimsIdentity(),
            SigningCredentials = new SigningCredentials(signingKey ?? Key, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>An Azure.Identity credential that hands out this key's tokens, for the audience its scope names.</summary>
    /// <param name="roles">The app roles its tokens carry (default: the worker's).</param>
    /// <param name="audience">The audience its tokens name instead of the scope's (a misconfigured scope).</param>
    public TokenCredential Credential(string[]? roles = null, string? audience = null) => new Issuing(this, roles, audience);

    public void Dispose() => rsa.Dispose();

    private sealed class Issuing(TestTokens tokens, string[]? roles, string? audienceOverride) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            var scope = Assert.Single(requestContext.Scopes);
            var audience = scope.EndsWith("/.default", StringComparison.Ordinal) ? scope[..^"/.default".Length] : scope;
            return new AccessToken(tokens.Create(audienceOverride ?? audience, roles: roles), DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
