namespace CovidServerless.Core.Imaging;

/// <summary>
/// The scan cannot be screened because of its content (format, size, corruption). The message is shown to
/// people as the result's <c>reason</c>, so it says what is wrong in plain words and never includes patient data.
/// </summary>
public class ScanRejectedException : Exception
{
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
}
