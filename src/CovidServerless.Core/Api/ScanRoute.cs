using System.Text.RegularExpressions;

namespace CovidServerless.Core.Api;

/// <summary>The blob name a GET /api/scans/{modality}/{*blobName} request asks for.</summary>
public static partial class ScanRoute
{
    private const string Prefix = "/api/scans/";

    /// <summary>
    /// The names the request may mean, the likelier first. A server decodes the route value except "%2F", so from it
    /// alone a folder's "/" sent as "%2F" and a name's own "%2F" (sent as "%252F") look alike: both are tried, as a
    /// folder first. The raw request target, as the client sent it, tells them apart, and is used when it agrees with
    /// the route value (a proxy in between may have re-encoded it, e.g. the Functions host's).
    /// </summary>
    /// <param name="rawTarget">The request target as the client sent it (IHttpRequestFeature.RawTarget), or null.</param>
    /// <param name="modality">The server's decoded modality segment.</param>
    /// <param name="routeValue">The server's decoded catch-all value.</param>
    public static IReadOnlyList<string> BlobNames(string? rawTarget, string modality, string routeValue)
    {
        ArgumentNullException.ThrowIfNull(routeValue);
        if (FromRawTarget(rawTarget, modality, routeValue) is { } exact)
        {
            return [exact];
        }

        var asFolders = routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        return asFolders == routeValue ? [routeValue] : [asFolders, routeValue];
    }

    private static string? FromRawTarget(string? rawTarget, string modality, string routeValue)
    {
        var path = rawTarget?.Split('?', 2)[0];
        if (path is null || !path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
            || path.IndexOf('/', Prefix.Length) is not (var slash and > 0)
            || !string.Equals(Uri.UnescapeDataString(path[Prefix.Length..slash]), modality, StringComparison.Ordinal))
        {
            return null;
        }

        // Decoded as the server decodes (all but "%2F") it must give the route value, or something between the client
        // and this code changed the path (dot segments resolved, re-encoding): then it is not the client's.
        var encodedName = path[(slash + 1)..];
        var asServerDecodes = string.Concat(EncodedSlash().Split(encodedName)
            .Select((part, i) => i % 2 == 1 ? part : Uri.UnescapeDataString(part))); // odd parts: the captured "%2F"s
        return asServerDecodes == routeValue ? Uri.UnescapeDataString(encodedName) : null;
    }

    /// <summary>"%2F" in either case, captured so that splitting on it keeps it.</summary>
    [GeneratedRegex("(%2[Ff])")]
    private static partial Regex EncodedSlash();
}
