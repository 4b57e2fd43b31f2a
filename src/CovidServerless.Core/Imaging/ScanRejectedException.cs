namespace CovidServerless.Core.Imaging;

/// <summary>What is wrong with a rejected file, for callers that answer differently per kind (HTTP 413/415/400).</summary>
public enum ScanProblem
{
    /// <summary>The content is unusable as a scan: empty, corrupt, truncated, or of unusable dimensions.</summary>
    Invalid,

    /// <summary>The file is over the byte limit.</summary>
    TooLarge,

    /// <summary>The file is not an image of a supported format.</summary>
    NotAnImage,
}

/// <summary>
/// The scan cannot be screened because of its content (format, size, corruption). The message is shown to
/// people as the result's <c>reason</c>, so it says what is wrong in plain words and never includes patient data.
/// </summary>
public class ScanRejectedException : Exception
{
    public ScanRejectedException(string reason, ScanProblem problem)
        : base(reason)
    {
        Problem = problem;
    }

    public ScanRejectedException(string reason)
        : base(reason)
    {
    }

    public ScanRejectedException(string reason, Exception innerException)
        : base(reason, innerException)
    {
    }

    public ScanRejectedException()
    {
    }

    public ScanProblem Problem { get; }
}
