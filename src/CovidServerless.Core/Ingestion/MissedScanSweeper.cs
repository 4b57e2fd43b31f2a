using Azure;
using Azure.Storage.Blobs;
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
    /// <summary>Failed attempts per scan version, kept until it succeeds or gives up. Sweeps run one at a time.</summary>
    private readonly Dictionary<string, int> failedAttempts = [];

    /// <summary>
    /// Ingests every scan last modified in [<paramref name="from"/>, <paramref name="to"/>) that has no result, and
    /// retries scans that failed in an earlier sweep wherever their upload time falls, until they succeed or reach
    /// <see cref="MissedScanSweepOptions.MaxAttempts"/>.
    /// </summary>
    /// <returns>How many scans it ingested or recorded as failed.</returns>
    public async Task<int> SweepAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var swept = 0;
        var listed = new HashSet<string>();
        foreach (var modality in ModalityNames.All)
        {
            var container = clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
            try
            {
                await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    if (blob.Properties.LastModified is not { } modified || blob.Properties.ETag is not { } etag)
                    {
                        continue;
                    }

                    var identity = new ScanIdentity(modality, blob.Name, etag.ToString(), modified);
                    listed.Add(identity.ScanId);
                    var due = (modified >= from && modified < to) || failedAttempts.ContainsKey(identity.ScanId);
                    if (due
                        && !await store.HasResultAsync(identity, cancellationToken).ConfigureAwait(false)
                        && await IngestAsync(identity, container.GetBlobClient(blob.Name), cancellationToken).ConfigureAwait(false))
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

        // A failed version that is gone (deleted, or overwritten by a newer upload) needs no more attempts.
        foreach (var gone in failedAttempts.Keys.Where(id => !listed.Contains(id)).ToList())
        {
            failedAttempts.Remove(gone);
        }

        if (swept > 0)
        {
            logger.LogWarning("Ingested {Count} uploaded scans that the blob trigger had not delivered.", swept);
        }

        return swept;
    }

    private async Task<bool> IngestAsync(ScanIdentity identity, BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            await ingestor.IngestAsync(identity.Modality, blob, cancellationToken).ConfigureAwait(false);
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
            await processor.RecordFailedAsync(identity, cancellationToken).ConfigureAwait(false);
            return true;
        }
    }
}
