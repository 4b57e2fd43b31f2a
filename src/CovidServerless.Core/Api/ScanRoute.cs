namespace CovidServerless.Core.Api;

/// <summary>The blob name a GET /api/scans/{modality}/{*blobName} request asks for.</summary>
public static class ScanRoute
{
    private const string Prefix = "/api/scans/";

    /// <summary>
    /// Decodes the name once from the request's raw target, where the client's encoding is intact: a name's own
    /// "%2F" arrives as "%252F" and its own "%41" as "%2541". A server's decoded route value cannot tell these
    /// apart from an encoded "/" or "A" (ASP.NET Core decodes all but "%2F"), so it is used, with "%2F" read as "/",
    /// only when the raw target is unavailable or not of this route's shape.
    /// </summary>
    /// <param name="rawTarget">The request target as sent (path and query), e.g. IHttpRequestFeature.RawTarget.</param>
    /// <param name="routeValue">The server's decoded catch-all value.</param>
    public static string BlobName(string? rawTarget, string routeValue)
    {
        ArgumentNullException.ThrowIfNull(routeValue);
        var path = rawTarget?.Split('?', 2)[0];
        if (path is not null && path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
            && path.IndexOf('/', Prefix.Length) is var slash and > 0)
        {
            return Uri.UnescapeDataString(path[(slash + 1)..]);
        }

        return routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }
}
