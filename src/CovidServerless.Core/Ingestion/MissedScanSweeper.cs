using Azure;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Ingestion;

/// <summary>
/// The safety net under the polling blob trigger: finds scans uploaded within a time window that have no result for
/// their current version and ingests them through the same path as the trigger. The WebJobs container scan can skip
/// blobs written while it lists the container (Azure/azure-sdk-for-net#62763) and counts on storage analytics logs
/// to catch them, which Azurite does not write: bursts through the local host lost some scans for good without this.
/// </summary>
public sealed class MissedScanSweeper(
    StorageClients clients,
    ResultStore store,
    BlobScanIngestor ingestor,
    ScanProcessor processor,
    IOptions<MissedScanSweepOptions> options,
    ILogger<MissedScanSweeper> logger)
{
    private readonly Dictionary<string, int> failedAttempts = [];

    /// <summary>Ingests every scan last modified in [<paramref name="from"/>, <paramref name="to"/>) that has no result.</summary>
    /// <returns>How many scans it ingested or recorded as failed.</returns>
    public async Task<int> SweepAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var swept = 0;
        foreach (var modality in ModalityNames.All)
        {
            var container = clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
            try
            {
                await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    if (blob.Properties.LastModified is not { } modified || modified < from || modified >= to || blob.Properties.ETag is not { } etag)
                    {
                        continue;
                    }

                    var identity = new ScanIdentity(modality, blob.Name, etag.ToString(), modified);
                    if (!await store.HasResultAsync(identity, cancellationToken).ConfigureAwait(false)
                        && await IngestAsync(identity, cancellationToken).ConfigureAwait(false))
                    {
                        swept++;
                    }
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // No container yet: nothing was uploaded to it.
            }
        }

        if (swept > 0)
        {
            logger.LogWarning("Ingested {Count} uploaded scans that the blob trigger had not delivered.", swept);
        }

        return swept;
    }

    private async Task<bool> IngestAsync(ScanIdentity identity, CancellationToken cancellationToken)
    {
        try
        {
            await ingestor.IngestAsync(identity.Modality, clients.Blobs.GetBlobContainerClient(ScanContainers.For(identity.Modality)).GetBlobClient(identity.BlobName), cancellationToken)
                .ConfigureAwait(false);
            failedAttempts.Remove(identity.ScanId);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            var attempts = failedAttempts[identity.ScanId] = failedAttempts.GetValueOrDefault(identity.ScanId) + 1;
            logger.LogWarning(ex, "Ingesting missed scan {ScanId} failed (attempt {Attempt} of {MaxAttempts}).", identity.ScanId, attempts, options.Value.MaxAttempts);
            if (attempts < options.Value.MaxAttempts)
            {
                return false;
            }

            failedAttempts.Remove(identity.ScanId);
            await processor.RecordUnscoredAsync(
                identity,
                ScanStatus.Failed,
                "Processing failed on every retry (a service problem, not a problem with the scan); upload it again to retry.",
                cancellationToken).ConfigureAwait(false);
            return true;
        }
    }
}
