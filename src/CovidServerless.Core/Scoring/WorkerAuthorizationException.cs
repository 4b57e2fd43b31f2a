namespace CovidServerless.Core.Scoring;

/// <summary>
/// The scoring worker refused this host's credentials (401 or 403): a configuration error (WorkerToken:Scope, the
/// worker's audience or tenant, or the app role assignment), not an outage. It is never retried as one and never
/// falls back to in-process scoring, so that a misconfigured deployment fails where an operator sees it.
/// </summary>
public sealed class WorkerAuthorizationException : InvalidOperationException
{
    public WorkerAuthorizationException(string message)
        : base(message)
    {
    }

    public WorkerAuthorizationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public WorkerAuthorizationException()
    {
    }
}
