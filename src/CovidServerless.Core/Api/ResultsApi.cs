using CovidServerless.Core.Models;
using CovidServerless.Core.Results;

namespace CovidServerless.Core.Api;

/// <summary>
/// The HTTP contract (routes under /api) as plain methods, so the Functions app, the local host and the worker
/// answer identically and each host only binds a route to a call.
/// </summary>
public sealed class ResultsApi(ResultsQuery query, ModelCatalog catalog)
{
    public const int DefaultTop = 20;

    /// <summary>GET /api/scans/{modality}/{*blobName}[?history=true]</summary>
    /// <param name="blobName">The route's catch-all value, as the server hands it over.</param>
    public async Task<ApiResponse> GetScanAsync(string modality, string blobName, bool history, CancellationToken cancellationToken)
    {
        // The server has decoded the path already, except "%2F", which it keeps apart from a path separator; in a
        // blob name it is a folder separator all the same. Decoding the whole value again would turn a name's own
        // "%41" into "A".
        ArgumentNullException.ThrowIfNull(blobName);
        blobName = blobName.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        if (!ModalityNames.TryParse(modality, out var parsed))
        {
            return ApiResponse.BadRequest($"Unknown modality '{modality}': use 'chest' or 'ct'.");
        }

        if (string.IsNullOrWhiteSpace(blobName))
        {
            return ApiResponse.BadRequest("Name the blob: /api/scans/{modality}/{blobName}.");
        }

        if (history)
        {
            var versions = await query.GetVersionsAsync(parsed, blobName, int.MaxValue, cancellationToken).ConfigureAwait(false);
            return versions.Count > 0 ? ApiResponse.Ok(versions) : NoResult(parsed, blobName);
        }

        var latest = await query.GetLatestAsync(parsed, blobName, cancellationToken).ConfigureAwait(false);
        return latest is not null ? ApiResponse.Ok(latest) : NoResult(parsed, blobName);
    }

    /// <summary>GET /api/scans?modality=chest|ct&amp;top=N&amp;continuationToken=...</summary>
    public async Task<ApiResponse> ListScansAsync(string? modality, string? top, string? continuationToken, CancellationToken cancellationToken)
    {
        Modality? filter = null;
        if (!string.IsNullOrEmpty(modality))
        {
            if (!ModalityNames.TryParse(modality, out var parsed))
            {
                return ApiResponse.BadRequest($"Unknown modality '{modality}': use 'chest' or 'ct'.");
            }

            filter = parsed;
        }

        var size = DefaultTop;
        if (!string.IsNullOrEmpty(top) && (!int.TryParse(top, out size) || size < 1 || size > ResultsQuery.MaxPageSize))
        {
            return ApiResponse.BadRequest($"top must be a whole number from 1 to {ResultsQuery.MaxPageSize}.");
        }

        var page = await query.ListRecentAsync(filter, size, continuationToken, cancellationToken).ConfigureAwait(false);
        return ApiResponse.Ok(page);
    }

    /// <summary>GET /api/models</summary>
    public ApiResponse GetModels() => ApiResponse.Ok(DescribeModels(catalog));

    /// <summary>GET /api/health: 200 only when every model of the manifest loaded, else 503 naming the problems.</summary>
    public ApiResponse GetHealth() => Health(catalog);

    public static ApiResponse Health(ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var body = new HealthReport(
            catalog.IsReady ? "ready" : "not-ready", catalog.AllModels.Count(), catalog.Problems, catalog.ManifestPath);
        return new ApiResponse(catalog.IsReady ? 200 : 503, body);
    }

    public static IReadOnlyList<ModelDescription> DescribeModels(ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return [.. catalog.AllModels.Select(m => new ModelDescription(
            m.Name, m.Modality.ToName(), m.Entry.Architecture, m.Entry.Version, m.Sha256, m.Entry.Input, m.Entry.Output))];
    }

    private static ApiResponse NoResult(Modality modality, string blobName) =>
        ApiResponse.NotFound($"No result for {modality.ToName()}/{blobName} (yet): it may still be processing.");
}

public sealed record HealthReport(string Status, int ModelsLoaded, IReadOnlyList<string> Problems, string Manifest);

public sealed record ModelDescription(
    string Name, string Modality, string? Architecture, string Version, string Sha256, ModelInputSpec Input, ModelOutputSpec Output);
