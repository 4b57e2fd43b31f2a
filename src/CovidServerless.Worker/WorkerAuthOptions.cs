using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Worker;

/// <summary>
/// Who may call the worker. Bound from configuration section "WorkerAuth". On by default: every route except
/// /healthz and /readyz needs a Microsoft Entra ID bearer token for <see cref="Audience"/> from <see cref="TenantId"/>
/// that carries the app role <see cref="RequiredRole"/> (the function app's managed identity holds it).
/// </summary>
public sealed class WorkerAuthOptions : IValidatableObject
{
    public const string SectionName = "WorkerAuth";

    /// <summary>
    /// Local development only: no token is asked for. The worker refuses to start with this set unless every
    /// address it listens on is loopback (localhost, 127.0.0.1, [::1]).
    /// </summary>
    public bool DisabledForLocalDevelopment { get; set; }

    /// <summary>The Entra ID sign-in endpoint; another cloud's for sovereign clouds.</summary>
    public Uri Instance { get; set; } = new("https://login.microsoftonline.com/");

    /// <summary>The directory (tenant) id whose tokens are accepted.</summary>
    public string? TenantId { get; set; }

    /// <summary>
    /// The worker's app registration as tokens name it: its application ID URI (api://...) or client id. A token
    /// for any other audience is refused.
    /// </summary>
    public string? Audience { get; set; }

    /// <summary>
    /// The app role a caller must hold. Any service principal in a tenant can get an app-only token for any
    /// resource; the role (assigned to the function app's identity) is what limits callers to the pipeline.
    /// </summary>
    public string RequiredRole { get; set; } = "Scoring.Invoke";

    /// <summary>Issuers accepted: v2.0 tokens' (instance/tenant/v2.0) and, on the public cloud, v1.0 tokens' (sts.windows.net).</summary>
    public IReadOnlyList<string> ValidIssuers()
    {
        var issuers = new List<string> { $"{Instance.ToString().TrimEnd('/')}/{TenantId}/v2.0" };
        if (string.Equals(Instance.Host, "login.microsoftonline.com", StringComparison.OrdinalIgnoreCase))
        {
            issuers.Add($"https://sts.windows.net/{TenantId}/");
        }

        return issuers;
    }

    /// <summary>The addresses the worker will listen on that are not loopback; set by the host before validation.</summary>
    internal IReadOnlyList<string> NonLoopbackAddresses { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DisabledForLocalDevelopment)
        {
            if (NonLoopbackAddresses.Count > 0)
            {
                yield return new ValidationResult(
                    $"WorkerAuth:DisabledForLocalDevelopment is for local development only, but the worker would listen on {string.Join(", ", NonLoopbackAddresses)}, " +
                    "which is not loopback. Listen on 127.0.0.1 or localhost only, or configure WorkerAuth:TenantId and WorkerAuth:Audience.",
                    [nameof(DisabledForLocalDevelopment)]);
            }

            yield break;
        }

        if (string.IsNullOrWhiteSpace(TenantId) || string.IsNullOrWhiteSpace(Audience))
        {
            yield return new ValidationResult(
                "The worker needs WorkerAuth:TenantId and WorkerAuth:Audience (Microsoft Entra ID) to check its callers' tokens. " +
                "For local development on loopback only, set WorkerAuth:DisabledForLocalDevelopment=true instead.",
                [nameof(TenantId), nameof(Audience)]);
        }

        if (Instance.Scheme != Uri.UriSchemeHttps)
        {
            yield return new ValidationResult("WorkerAuth:Instance must be an https URL.", [nameof(Instance)]);
        }

        if (string.IsNullOrWhiteSpace(RequiredRole))
        {
            yield return new ValidationResult("WorkerAuth:RequiredRole must name the app role callers hold.", [nameof(RequiredRole)]);
        }
    }
}
