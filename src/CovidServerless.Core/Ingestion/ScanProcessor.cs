using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging;

namespace CovidServerless.Core.Ingestion;

/// <summary>
/// The pipeline's one entry point for a scan: score it (or reject it with a reason), record the result and
/// announce it. Scan problems become <c>rejected</c> results; host and storage problems throw so the trigger
/// retries, and after its last retry the poison handler records a <c>failed</c> result.
/// </summary>
public sealed class ScanProcessor(
    IScanScorer scorer, ResultStore store, ResultNotifier notifier, TimeProvider clock, ILogger<ScanProcessor> logger)
{
    public async Task<ScanResult> ProcessAsync(ScanUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var identity = upload.Identity;
        using var activity = PipelineTelemetry.Source.StartActivity("ProcessScan");
        activity?.SetTag("covidscan.scan_id", identity.ScanId);
        activity?.SetTag("covidscan.modality", identity.Modality.ToName());
        ScanResult result;
        try
        {
            var started = clock.GetTimestamp();
            var score = await scorer.ScoreAsync(identity.Modality, upload.Content, cancellationToken).ConfigureAwait(false);
            PipelineTelemetry.ScoringDuration.Record(
                clock.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("modality", identity.Modality.ToName()));
            result = Scored(identity, score);
        }
        catch (ScanRejectedException ex)
        {
            result = Unscored(identity, ScanStatus.Rejected, ex.Message) with { Gate = (ex as GateRejectedException)?.Gate };
        }

        await RecordAsync(result, identity).ConfigureAwait(false);
        return result;
    }

    /// <summary>Records a result without scoring: a rejection decided before download, or a final failure.</summary>
    public async Task<ScanResult> RecordUnscoredAsync(ScanIdentity identity, string status, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        cancellationToken.ThrowIfCancellationRequested();
        var result = Unscored(identity, status, reason);
        await RecordAsync(result, identity).ConfigureAwait(false);
        return result;
    }

    /// <summary>Records that processing failed on every retry: a service problem, so the scan itself is not blamed.</summary>
    public Task<ScanResult> RecordFailedAsync(ScanIdentity identity, CancellationToken cancellationToken) =>
        RecordUnscoredAsync(
            identity,
            ScanStatus.Failed,
            "Processing failed on every retry (a service problem, not a problem with the scan); upload it again to retry.",
            cancellationToken);

    /// <summary>
    /// Rows (so the message's reader can query the result), then the message, then the timeline row, which marks the
    /// recording complete: a scan whose host dies before that row is processed again at the next start rather than
    /// left unannounced. A stop does not interrupt the recording (the storage clients' timeouts and retries, and the
    /// host's shutdown timeout, bound it), so a clean stop does not cost the scan a second scoring.
    /// </summary>
    private async Task RecordAsync(ScanResult result, ScanIdentity identity)
    {
        await store.SaveAsync(result, identity, CancellationToken.None).ConfigureAwait(false);
        await notifier.PublishAsync(result, CancellationToken.None).ConfigureAwait(false);
        await store.AddToTimelineAsync(result, identity, CancellationToken.None).ConfigureAwait(false);
        PipelineTelemetry.Scans.Add(
            1, new KeyValuePair<string, object?>("modality", result.Modality), new KeyValuePair<string, object?>("status", result.Status));

        // Blob names may carry patient names: Information logs carry the scan id only. Reasons are built from the
        // file's properties (size, format, dimensions) or are fixed texts, never from its name.
        if (result.Status == ScanStatus.Scored)
        {
            logger.LogInformation(
                "Scan {ScanId} ({Modality}) scored {Verdict}, pCovid {PCovid:F3}", result.ScanId, result.Modality, result.Verdict, result.PCovid);
        }
        else
        {
            logger.LogInformation("Scan {ScanId} ({Modality}) {Status}: {Reason}", result.ScanId, result.Modality, result.Status, result.Reason);
        }

        logger.LogDebug("Scan {ScanId} is blob {BlobName}", result.ScanId, result.BlobName);
    }

    private ScanResult Scored(ScanIdentity identity, EnsembleScore score) => new()
    {
        ScanId = identity.ScanId,
        Modality = identity.Modality.ToName(),
        BlobName = identity.BlobName,
        BlobVersion = identity.BlobVersion,
        Status = ScanStatus.Scored,
        Verdict = score.Verdict,
        PCovid = score.PCovid,
        Threshold = score.Threshold,
        Models = score.Models,
        Gate = score.Gate,
        UploadedAt = identity.UploadedAt,
        ProcessedAt = clock.GetUtcNow(),
    };

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
