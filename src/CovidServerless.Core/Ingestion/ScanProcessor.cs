using CovidServerless.Core.Gate;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Series;
using Microsoft.Extensions.Logging;

namespace CovidServerless.Core.Ingestion;

/// <summary>
/// The pipeline's one entry point for a scan: score it (or reject it with a reason), record the result and
/// announce it. Scan problems become <c>rejected</c> results; host and storage problems throw so the trigger
/// retries, and after its last retry the poison handler records a <c>failed</c> result. A scored scan's heatmap maps
/// (returned by its scoring run) are stored in its result's rows with the links, so a link never dangles; the overlay
/// itself is drawn on its first request (<see cref="Api.ScanUploadApi.GetHeatmapAsync"/>), never here.
/// </summary>
public sealed class ScanProcessor(
    IScanScorer scorer,
    ScanDecoder decoder,
    ResultStore store,
    SeriesStore series,
    ResultNotifier notifier,
    TimeProvider clock,
    ILogger<ScanProcessor> logger,
    HeatmapStore? heatmaps = null)
{
    public async Task<ScanResult> ProcessAsync(ScanUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var identity = upload.Identity;
        using var activity = PipelineTelemetry.Source.StartActivity("ProcessScan");
        activity?.SetTag("covidscan.scan_id", identity.ScanId);
        activity?.SetTag("covidscan.modality", identity.Modality.ToName());

        // A version delivered again after its result was saved (its host died before announcing it, or the trigger
        // delivered it twice) is announced from storage: scoring it again could give another answer (CPU vs GPU).
        if (await FinalResultAsync(identity, cancellationToken).ConfigureAwait(false) is { } recorded)
        {
            await RepublishAsync(recorded, identity).ConfigureAwait(false);
            return recorded;
        }

        // Only the instance UIDs leave the header (Images:Dicom:UidsInResults); a rejected DICOM scan carries them too.
        var uids = decoder.ReadDicomUids(upload.Content.Span);
        ScanResult result;
        IReadOnlyList<MemberHeatmap>? maps = null;
        try
        {
            var started = clock.GetTimestamp();
            var score = await scorer.ScoreAsync(identity.Modality, upload.Content, cancellationToken).ConfigureAwait(false);
            PipelineTelemetry.ScoringDuration.Record(
                clock.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("modality", identity.Modality.ToName()));
            result = ScanResult.Scored(identity, score, clock.GetUtcNow());
            maps = score.Heatmaps;
        }
        catch (ScanRejectedException ex)
        {
            result = Unscored(identity, ScanStatus.Rejected, ex.Message) with { Gate = (ex as GateRejectedException)?.Gate };
        }

        result = result with { Dicom = uids };
        byte[]? storedMaps = null;
        if (heatmaps is not null && maps is { Count: > 0 })
        {
            (result, storedMaps) = heatmaps.Link(result, maps);
            if (storedMaps is null && heatmaps.Enabled)
            {
                logger.LogWarning(
                    "Scan {ScanId}: its heatmap maps exceed {MaxBytes} bytes (or hold values that are not finite); the result links no heatmap",
                    identity.ScanId,
                    HeatmapMaps.MaxBytes);
            }
        }

        await RecordAsync(result, identity, storedMaps).ConfigureAwait(false);
        return result;
    }

    public const string FailedOnEveryRetry =
        "Processing failed on every retry (a service problem, not a problem with the scan); upload it again to retry.";

    /// <summary>Records a result without scoring: a rejection decided before download, or a final failure.</summary>
    public async Task<ScanResult> RecordUnscoredAsync(ScanIdentity identity, string status, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        cancellationToken.ThrowIfCancellationRequested();
        var result = Unscored(identity, status, reason);
        await RecordAsync(result, identity).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Records that processing failed on every retry: a service problem, so the scan itself is not blamed. A version
    /// that already has a result keeps it (announced again, in case that had not happened yet): a scored or rejected
    /// one is never downgraded, and a failed one recorded again (its host died before the timeline row) keeps its
    /// first reason, so that both messages of the scan id say the same.
    /// </summary>
    public async Task<ScanResult> RecordFailedAsync(ScanIdentity identity, CancellationToken cancellationToken, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (await store.FindAsync(identity, cancellationToken).ConfigureAwait(false) is { Status: ScanStatus.Scored or ScanStatus.Rejected or ScanStatus.Failed } recorded)
        {
            await RepublishAsync(recorded, identity).ConfigureAwait(false);
            return recorded;
        }

        return await RecordUnscoredAsync(
            identity,
            ScanStatus.Failed,
            reason ?? FailedOnEveryRetry,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The version's stored result when it is scored or rejected; a failed one may still be replaced.</summary>
    private async Task<ScanResult?> FinalResultAsync(ScanIdentity identity, CancellationToken cancellationToken) =>
        await store.FindAsync(identity, cancellationToken).ConfigureAwait(false) is { Status: ScanStatus.Scored or ScanStatus.Rejected } stored
            ? stored
            : null;

    /// <summary>
    /// Rows (so the message's reader can query the result), then the message, then the timeline row, which marks the
    /// recording complete: a scan whose host dies before that row is processed again at the next start rather than
    /// left unannounced. A stop does not interrupt the recording (the storage clients' timeouts and retries, and the
    /// host's shutdown timeout, bound it), so a clean stop does not cost the scan a second scoring.
    /// </summary>
    private async Task RecordAsync(ScanResult result, ScanIdentity identity, byte[]? heatmapMaps = null)
    {
        await store.SaveAsync(result, identity, CancellationToken.None, heatmapMaps).ConfigureAwait(false);
        await series.AddSliceAsync(result, CancellationToken.None).ConfigureAwait(false);
        await AnnounceAsync(result, identity).ConfigureAwait(false);
        PipelineTelemetry.Scans.Add(
            1, new KeyValuePair<string, object?>("modality", result.Modality), new KeyValuePair<string, object?>("status", result.Status));

        // Blob names may carry patient names: logs carry the scan id only, at every level (the results table maps it
        // to the blob for whoever may read results). Reasons are built from the file's properties (size, format,
        // dimensions) or are fixed texts, never from its name.
        if (result.Status == ScanStatus.Scored)
        {
            logger.LogInformation(
                "Scan {ScanId} ({Modality}) scored {Verdict}, pCovid {PCovid:F3}", result.ScanId, result.Modality, result.Verdict, result.PCovid);
        }
        else
        {
            logger.LogInformation("Scan {ScanId} ({Modality}) {Status}: {Reason}", result.ScanId, result.Modality, result.Status, result.Reason);
        }
    }

    /// <summary>A stored result recorded to the end again: its scan-id row (its host may have died before writing it), message and timeline row.</summary>
    private async Task RepublishAsync(ScanResult result, ScanIdentity identity)
    {
        await store.IndexAsync(result, CancellationToken.None).ConfigureAwait(false);
        await series.AddSliceAsync(result, CancellationToken.None).ConfigureAwait(false);
        await AnnounceAsync(result, identity).ConfigureAwait(false);
    }

    /// <summary>The message, then the timeline row that marks the recording complete.</summary>
    private async Task AnnounceAsync(ScanResult result, ScanIdentity identity)
    {
        await notifier.PublishAsync(result, CancellationToken.None).ConfigureAwait(false);
        await store.AddToTimelineAsync(result, identity, CancellationToken.None).ConfigureAwait(false);
    }

    private ScanResult Unscored(ScanIdentity identity, string status, string reason) => new()
    {
        ScanId = identity.ScanId,
        Modality = identity.Modality.ToName(),
        BlobName = identity.BlobName,
        BlobVersion = identity.BlobVersion,
        Status = status,
        Reason = reason,
        UploadedAt = identity.UploadedAt,
        ProcessedAt = clock.GetUtcNow(),
    };
}
