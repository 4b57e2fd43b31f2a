using CovidServerless.Core.Results;

namespace CovidServerless.Core.Api;

/// <summary>
/// The HTTP contract (routes under /api) as plain methods, so the Functions app and the local host answer
/// identically and each host only binds a route to a call (the worker answers /api/models and /api/health through
/// the same <see cref="LocalScoringStatus"/>).
/// </summary>
public sealed class ResultsApi(ResultsQuery query, IScoringStatus scoring)
{
    public const int DefaultTop = 20;

    /// <summary>GET /api/scans/{modality}/{*blobName}[?history=true]</summary>
    /// <param name="modality">The route's modality value.</param>
    /// <param name="blobName">The route's catch-all value, as the server decoded it.</param>
    /// <param name="rawTarget">The request target as the client sent it, where the host has it unaltered; else null.</param>
    public async Task<ApiResponse> GetScanAsync(
        string modality, string blobName, string? rawTarget, bool history, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        if (!ModalityNames.TryParse(modality, out var parsed))
        {
            return ApiResponse.BadRequest($"Unknown modality '{modality}': use 'chest' or 'ct'.");
        }

        if (string.IsNullOrWhiteSpace(blobName))
        {
            return ApiResponse.BadRequest("Name the blob: /api/scans/{modality}/{blobName}.");
        }

        var names = ScanRoute.BlobNames(rawTarget, modality, blobName);
        foreach (var name in names)
        {
            if (history)
            {
                var versions = await query.GetVersionsAsync(parsed, name, int.MaxValue, cancellationToken).ConfigureAwait(false);
                if (versions.Count > 0)
                {
                    return ApiResponse.Ok(versions);
                }
            }
            else if (await query.GetLatestAsync(parsed, name, cancellationToken).ConfigureAwait(false) is { } latest)
            {
                return ApiResponse.Ok(latest);
            }
        }

        return NoResult(parsed);
    }

    /// <summary>GET /api/scans?modality=chest|ct&amp;status=scored|rejected|failed&amp;verdict=covid|noncovid|indeterminate&amp;top=N&amp;continuationToken=...</summary>
    public async Task<ApiResponse> ListScansAsync(
        string? modality, string? top, string? continuationToken, CancellationToken cancellationToken, string? status = null, string? verdict = null)
    {
        status = string.IsNullOrEmpty(status) ? null : status;
        verdict = string.IsNullOrEmpty(verdict) ? null : verdict;
        if (status is not null and not (ScanStatus.Scored or ScanStatus.Rejected or ScanStatus.Failed))
        {
            return ApiResponse.BadRequest($"Unknown status '{status}': use '{ScanStatus.Scored}', '{ScanStatus.Rejected}' or '{ScanStatus.Failed}'.");
        }

        if (verdict is not null && !Scoring.Verdicts.IsKnown(verdict))
        {
            return ApiResponse.BadRequest(
                $"Unknown verdict '{verdict}': use '{Scoring.Verdicts.Covid}', '{Scoring.Verdicts.NonCovid}' or '{Scoring.Verdicts.Indeterminate}'.");
        }

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

        // Anything but a token this API returned (a token from before the timeline was sharded held a space, and an
        // unquoted shell argument left half of it) would silently answer a wrong page.
        continuationToken = string.IsNullOrEmpty(continuationToken) ? null : continuationToken;
        if (continuationToken is not null && !ResultsQuery.IsContinuationToken(continuationToken))
        {
            return ApiResponse.BadRequest("continuationToken is not one this API returned: pass back the previous page's token whole.");
        }

        var page = await query.ListRecentAsync(filter, size, continuationToken, cancellationToken, status, verdict).ConfigureAwait(false);
        return ApiResponse.Ok(page);
    }

    /// <summary>
    /// GET /api/series/{seriesInstanceUid}: a CT series' result (kind "series"), written once no new slice has arrived
    /// for Series:QuietPeriodSeconds. 404 until then; a slice arriving later rewrites it after another quiet period.
    /// </summary>
    public async Task<ApiResponse> GetSeriesAsync(string seriesInstanceUid, CancellationToken cancellationToken)
    {
        if (!Imaging.Dicom.DicomUids.IsUid(seriesInstanceUid))
        {
            return ApiResponse.BadRequest("A SeriesInstanceUID is up to 64 digits and dots, as a CT scan's result gives it under dicom.seriesInstanceUid.");
        }

        var (result, pending) = await query.GetSeriesAsync(seriesInstanceUid, cancellationToken).ConfigureAwait(false);
        return result is not null
            ? ApiResponse.Ok(result)
            : ApiResponse.NotFound(pending
                ? "No result for this series yet: its slices are being recorded; it is aggregated once none has arrived for the quiet period."
                : "No slice of this series has been recorded (yet).");
    }

    /// <summary>GET /api/models: the models that score this host's scans (in Remote mode, the worker's).</summary>
    public Task<ApiResponse> GetModelsAsync(CancellationToken cancellationToken) => scoring.GetModelsAsync(cancellationToken);

    /// <summary>GET /api/health: 200 only when the models that score this host's scans are loaded, else 503 naming the problems.</summary>
    public Task<ApiResponse> GetHealthAsync(CancellationToken cancellationToken) => scoring.GetHealthAsync(cancellationToken);

    private static ApiResponse NoResult(Modality modality) =>
        ApiResponse.NotFound($"No result for this {modality.ToName()} scan (yet): it may still be processing."); // names may be patients': not echoed
}
