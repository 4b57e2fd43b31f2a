using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Security;

/// <summary>
/// How the hosts prove who they are to the scoring worker (Remote mode). Bound from configuration section
/// "WorkerToken". With <see cref="Scope"/> set, every request to the worker carries a Microsoft Entra ID access token
/// from Azure.Identity (the function app's managed identity in Azure, the developer's sign-in locally).
/// </summary>
public sealed class WorkerTokenOptions
{
    public const string SectionName = "WorkerToken";

    /// <summary>The worker's app registration scope, e.g. api://covidscan-worker/.default. Unset: no token is sent.</summary>
    public string? Scope { get; set; }

    /// <summary>A user-assigned managed identity's client id; unset: DefaultAzureCredential (system-assigned identity in Azure).</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>
    /// Why a remote worker needs a scope: without one the worker's requests go unauthenticated, which only a worker
    /// on this machine (loopback, auth opted out for local development) accepts.
    /// </summary>
    internal static ValidationResult? Check(WorkerTokenOptions options, Uri? endpoint) =>
        string.IsNullOrWhiteSpace(options.Scope) && endpoint is not null && !endpoint.IsLoopback
            ? new ValidationResult($"WorkerToken:Scope is required to call the scoring worker at {endpoint}: the worker accepts only Entra ID tokens (only a worker on loopback may run without).")
            : null;
}
