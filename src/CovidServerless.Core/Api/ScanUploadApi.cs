using Azure;
using Azure.Storage.Blobs.Models;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Api;

/// <summary>The answer to an accepted upload: the scan id to follow and where its result will appear.</summary>
public sealed record UploadAccepted(string ScanId, string Modality, string BlobName, string BlobVersion, string ResultUrl);

/// <summary>
/// POST /api/scans/{modality}[?name=...] and GET /api/results/{scanId}[/image|/heatmap]: the browser's way in and out. An upload
/// is checked with the pipeline's own limits and decoder before anything is stored, so a file the pipeline would
/// reject is refused at once (413, 415 or 400); accepted bytes go to the modality's container, where the blob trigger
/// finds them as it finds any other upload. Look-ups go by scan id, so no blob name (patient data) is in a URL.
/// </summary>
public sealed class ScanUploadApi(
    StorageClients clients, ScanDecoder decoder, ResultsQuery query, IOptions<ImageLimitsOptions> limits, HeatmapStore heatmaps)
{
    /// <summary>Blob Storage's limit on a name's length.</summary>
    public const int MaxNameLength = 1024;

    /// <summary>Blob Storage's limit on one path segment of a name (a virtual folder or the file name).</summary>
    public const int MaxSegmentLength = 254;

    public static string ResultUrl(string scanId) => $"/api/results/{scanId}";

    /// <summary>
    /// Why a client-chosen blob name is refused, in words that do not repeat the name, or null when it is fine. Names
    /// are paths of non-empty segments ("a/b.png"); "." and ".." segments, back-slashes and control characters are
    /// refused because storage, URLs or the local emulator would read them differently from the way they were sent.
    /// </summary>
    public static string? NameProblem(string name) => name switch
    {
        null or "" => "must not be empty",
        { Length: > MaxNameLength } => $"must be at most {MaxNameLength} characters",
        _ when name.Any(char.IsControl) => "must not contain control characters",
        _ when name.Contains('\\', StringComparison.Ordinal) => "must not contain '\\' (use '/' between folders)",
        _ when name.Split('/').Any(s => s.Length == 0) => "must not begin or end with '/' or hold '//'",
        _ when name.Split('/').Any(s => s is "." or "..") => "must not hold '.' or '..' as a folder or file name",
        _ when name.Split('/').Any(s => s.Length > MaxSegmentLength) => $"must have at most {MaxSegmentLength} characters between slashes",
        _ when name.EndsWith('.') => "must not end with '.'",
        _ => null,
    };

    /// <summary>POST /api/scans/{modality}: body = the image. 202 with the scan id, or 400/413/415 with the reason.</summary>
    /// <param name="modality">The route's modality.</param>
    /// <param name="name">The blob name to store it under (?name=), or null for a generated one.</param>
    /// <param name="declaredLength">The request's Content-Length, where it has one.</param>
    /// <param name="body">The request body, read at most one byte past the limit.</param>
    /// <param name="cancellationToken">Cancels the read and the write.</param>
    public async Task<ApiResponse> UploadAsync(
        string modality, string? name, long? declaredLength, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!ModalityNames.TryParse(modality, out var parsed))
        {
            return ApiResponse.BadRequest($"Unknown modality '{modality}': use 'chest' or 'ct'.");
        }

        if (name is not null && NameProblem(name) is { } problem)
        {
            return ApiResponse.BadRequest($"The name {problem}; or leave out ?name= to have one generated.");
        }

        var maxBytes = limits.Value.MaxBytes;
        if (declaredLength > maxBytes)
        {
            return TooLarge($"The file is {declaredLength:N0} bytes, over the {maxBytes:N0}-byte limit; it was not read.");
        }

        var content = await ReadAtMostAsync(body, declaredLength, maxBytes, cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return TooLarge($"The file is over the {maxBytes:N0}-byte limit; it was not stored.");
        }

        // Every check short of decoding pixels (size, format, declared dimensions, JPEG structure): cheap enough for a
        // request. Damage inside the pixel data (a truncated PNG) passes here; the pipeline then records the scan as
        // rejected with the reason, which GET /api/results/{scanId} shows.
        string format;
        try
        {
            format = decoder.Validate(content.Value.Span, parsed);
        }
        catch (ScanRejectedException ex)
        {
            var status = ex.Problem switch
            {
                ScanProblem.TooLarge => 413,
                ScanProblem.NotAnImage => 415,
                _ => 400,
            };
            return new ApiResponse(status, new ApiError(ex.Message + " It was not stored."));
        }

        var blobName = name ?? $"{Guid.NewGuid():N}.{format switch { "jpeg" => "jpg", "dicom" => "dcm", _ => format }}";
        var blob = clients.Blobs.GetBlobContainerClient(ScanContainers.For(parsed)).GetBlobClient(blobName);
        var stored = (await blob.UploadAsync(
            BinaryData.FromBytes(content.Value),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = ScanDecoder.MediaType(format) } },
            cancellationToken).ConfigureAwait(false)).Value;

        var identity = new ScanIdentity(parsed, blobName, stored.ETag.ToString(), stored.LastModified);
        var url = ResultUrl(identity.ScanId);
        return new ApiResponse(
            202, new UploadAccepted(identity.ScanId, parsed.ToName(), blobName, identity.BlobVersion, url), url);
    }

    /// <summary>GET /api/results/{scanId}: the result of one blob version, found by its id.</summary>
    public async Task<ApiResponse> GetResultAsync(string scanId, CancellationToken cancellationToken)
    {
        if (!ScanIdentity.IsScanId(scanId))
        {
            return BadScanId();
        }

        return await query.GetByScanIdAsync(scanId, cancellationToken).ConfigureAwait(false) is { } result
            ? ApiResponse.Ok(result)
            : ApiResponse.NotFound($"No result for scan {scanId} (yet): it may still be processing.");
    }

    /// <summary>
    /// GET /api/results/{scanId}/image: the scored scan's own bytes, for the result page. Only scored versions (their
    /// bytes passed the decoder) are served, and only while the blob still holds that version.
    /// </summary>
    public async Task<ApiResponse> GetImageAsync(string scanId, CancellationToken cancellationToken)
    {
        if (!ScanIdentity.IsScanId(scanId))
        {
            return BadScanId();
        }

        var result = await query.GetByScanIdAsync(scanId, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return ApiResponse.NotFound($"No result for scan {scanId} (yet), so no image.");
        }

        if (result.Status != ScanStatus.Scored || !ModalityNames.TryParse(result.Modality, out var modality))
        {
            return ApiResponse.NotFound($"Scan {scanId} was {result.Status}: its image is not shown.");
        }

        var (bytes, missing) = await DownloadScoredVersionAsync(result, modality, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return ApiResponse.NotFound(missing switch
            {
                ScanVersionMissing.Deleted => $"The image of scan {scanId} was deleted.",
                ScanVersionMissing.Replaced => $"The image of scan {scanId} was replaced by a newer upload under the same name.",
                _ => $"The image of scan {scanId} is over the byte limit: not served.",
            });
        }

        try
        {
            var format = decoder.Validate(bytes);
            if (format != "dicom")
            {
                return ApiResponse.Ok(new ApiFile(bytes, ScanDecoder.MediaType(format)));
            }

            // A DICOM file's header holds the patient's name and more: the browser gets the pixels only, as PNG.
            using var scan = await decoder.DecodeAsync(bytes, modality, cancellationToken).ConfigureAwait(false);
            using var png = scan.Bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            return ApiResponse.Ok(new ApiFile(png.ToArray(), "image/png"));
        }
        catch (ScanRejectedException)
        {
            return ApiResponse.NotFound($"The image of scan {scanId} is no longer a readable image.");
        }
        catch (Scoring.ScoringUnavailableException ex)
        {
            return new ApiResponse(503, new ApiError(ex.Message));
        }
    }

    /// <summary>
    /// GET /api/results/{scanId}/heatmap[?model=NAME]: the PNG overlay of the ensemble's map (or of one model's, where
    /// the result links one). Served from the heatmaps container where it is stored; otherwise drawn from the maps
    /// stored with the result over the scan at the version that was scored, stored, and served (concurrent first
    /// requests may both draw; they store the same bytes). 410 where that version was replaced or deleted since it
    /// was scored (no map is drawn over another image); 404 saying why where there is no heatmap.
    /// </summary>
    public async Task<ApiResponse> GetHeatmapAsync(string scanId, string? model, CancellationToken cancellationToken)
    {
        if (!ScanIdentity.IsScanId(scanId))
        {
            return BadScanId();
        }

        var result = await query.GetByScanIdAsync(scanId, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return ApiResponse.NotFound($"No result for scan {scanId} (yet), so no heatmap.");
        }

        if (result.Status != ScanStatus.Scored || !ModalityNames.TryParse(result.Modality, out var modality))
        {
            return ApiResponse.NotFound($"Scan {scanId} was {result.Status}: it has no heatmap.");
        }

        if (result.HeatmapUrl is null)
        {
            return ApiResponse.NotFound($"Scan {scanId} has no heatmap: heatmaps were off, or its models have no heatmap output, when it was scored.");
        }

        var member = HeatmapStore.Ensemble;
        if (!string.IsNullOrEmpty(model))
        {
            // Only names the result links are looked up, so the query never picks an arbitrary blob.
            if (result.Models.FirstOrDefault(m => m.Name == model && m.HeatmapUrl is not null) is not { } linked)
            {
                return ApiResponse.NotFound(
                    $"Scan {scanId} has no heatmap for that model: the result's models[].heatmapUrl links the ones available (Heatmaps:PerModel).");
            }

            member = linked.Name;
        }

        if (await heatmaps.ReadAsync(scanId, member, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return Png(stored);
        }

        var maps = await query.GetHeatmapMapsAsync(result, cancellationToken).ConfigureAwait(false);
        if (maps is null)
        {
            return ApiResponse.NotFound($"The heatmap of scan {scanId} was deleted.");
        }

        if (!HeatmapMaps.TryDecode(maps, out var members)
            || (member != HeatmapStore.Ensemble && !members.Any(m => m.Model == member)))
        {
            return new ApiResponse(500, new ApiError(
                $"The heatmap maps stored with scan {scanId} are unreadable (over {HeatmapMaps.MaxBytes:N0} bytes, damaged, or missing that model): no heatmap is drawn."));
        }

        var (scan, missing) = await DownloadScoredVersionAsync(result, modality, cancellationToken).ConfigureAwait(false);
        if (scan is null)
        {
            return missing == ScanVersionMissing.TooLarge
                ? ApiResponse.NotFound($"The image of scan {scanId} is over the byte limit: no heatmap is drawn.")
                : new ApiResponse(410, new ApiError(
                    $"The scan changed since it was scored ({(missing == ScanVersionMissing.Deleted ? "deleted" : "replaced by a newer upload under the same name")}): "
                    + $"no heatmap of scan {scanId} is drawn over another image."));
        }

        byte[] png;
        try
        {
            png = await heatmaps.RenderAsync(modality, scan, members, member, cancellationToken).ConfigureAwait(false);
        }
        catch (ScanRejectedException)
        {
            return ApiResponse.NotFound($"The image of scan {scanId} is no longer a readable image: no heatmap is drawn.");
        }
        catch (Scoring.ScoringUnavailableException ex)
        {
            return new ApiResponse(503, new ApiError(ex.Message));
        }

        await heatmaps.StoreAsync(scanId, member, png, cancellationToken).ConfigureAwait(false);
        return Png(png);
    }

    private enum ScanVersionMissing
    {
        None,
        Deleted,
        Replaced,
        TooLarge,
    }

    /// <summary>
    /// The bytes of the blob version a result scored (conditional on the ETag it recorded), or why there are none:
    /// deleted, replaced by a newer upload, or over the byte limit (checked before anything is allocated).
    /// </summary>
    private async Task<(byte[]? Bytes, ScanVersionMissing Missing)> DownloadScoredVersionAsync(
        ScanResult result, Modality modality, CancellationToken cancellationToken)
    {
        var blob = clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality)).GetBlobClient(result.BlobName);
        BlobDownloadStreamingResult download;
        try
        {
            download = (await blob.DownloadStreamingAsync(
                new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag($"\"{result.BlobVersion}\"") } },
                cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // A condition on a deleted blob may fail as 412 too (the emulator does): only a blob still there was replaced.
            var replaced = ex.Status == 412 && (await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
            return (null, replaced ? ScanVersionMissing.Replaced : ScanVersionMissing.Deleted);
        }

        using (download)
        {
            var length = download.Details.ContentLength;
            if (length > limits.Value.MaxBytes)
            {
                return (null, ScanVersionMissing.TooLarge);
            }

            var bytes = new byte[length];
            await download.Content.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            return (bytes, ScanVersionMissing.None);
        }
    }

    private static ApiResponse Png(byte[] png) => ApiResponse.Ok(new ApiFile(png, "image/png"));

    private static ApiResponse BadScanId() =>
        ApiResponse.BadRequest("A scan id is 32 lower-case hex digits, as POST /api/scans/{modality} or a result's scanId gives it.");

    private static ApiResponse TooLarge(string message) => new(413, new ApiError(message));

    /// <summary>The body's bytes, or null when it holds more than <paramref name="maxBytes"/> (never buffering more).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadAtMostAsync(Stream body, long? declaredLength, long maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream((int)Math.Min(declaredLength ?? 81_920, maxBytes));
        var chunk = new byte[81_920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }
}
