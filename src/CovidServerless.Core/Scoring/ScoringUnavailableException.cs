namespace CovidServerless.Core.Scoring;

/// <summary>The remote scoring worker could not score the scan now; the caller should retry later.</summary>
public sealed class ScoringUnavailableException : Exception
{
    public ScoringUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ScoringUnavailableException(string message)
        : base(message)
    {
    }

    public ScoringUnavailableException()
    {
    }
}
