using Azure;
using Azure.Storage.Blobs.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Ingestion;

/// <summary>
/// The scans in the containers that have no result: what an outage longer than the watcher's look-back window
/// (<see cref="ScanWatchOptions.LookbackHours"/>) or a lost Event Grid delivery leaves behind. Lists them, each
/// checked against the result store (one point query per blob, so an operator runs it, not the watcher), and
/// re-queues them by writing the same bytes again: a new blob version, which every host picks up as a new scan.
/// Scans older than the result retention are left out: their results may have been swept before the storage
/// lifecycle deletes them, and writing them again would restart their retention and score them again.
/// </summary>
public sealed class ScanBacklog(StorageClients clients, ResultStore store, IOptions<ResultRetentionOptions> retention, TimeProvider time)
{
    /// <summary>
    /// The blob versions of <paramref name="modality"/> uploaded at least <paramref name="olderThan"/> ago, and within
    /// the result retention, that have no result, oldest first.
    /// </summary>
    public async Task<IReadOnlyList<ScanIdentity>> UnansweredAsync(Modality modality, TimeSpan olderThan, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var cutoff = now - olderThan;
        var expired = retention.Value.CutOff(now) ?? DateTimeOffset.MinValue;
        var container = clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
        var unanswered = new List<ScanIdentity>();
        try
        {
            await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (blob.Properties.ETag?.ToString() is not { } version || blob.Properties.LastModified is not { } modified || modified > cutoff || modified < expired)
                {
                    continue;
                }

                var identity = new ScanIdentity(modality, blob.Name, version, modified);
                if (await store.FindAsync(identity, cancellationToken).ConfigureAwait(false) is null)
                {
                    unanswered.Add(identity);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: nothing was uploaded to it.
        }

        return [.. unanswered.OrderBy(s => s.UploadedAt)];
    }

    /// <summary>
    /// Writes the scan's bytes again under its name, only if it is still the version listed (a newer upload is
    /// processed on its own), and returns the new version's identity; null when the blob changed or went away.
    /// </summary>
    public async Task<ScanIdentity?> RequeueAsync(ScanIdentity scan, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scan);
        var blob = clients.Blobs.GetBlobContainerClient(ScanContainers.For(scan.Modality)).GetBlobClient(scan.BlobName);
        // The quoted form, as Blob Storage sends ETags and expects them in conditions.
        var listed = new ETag($"\"{scan.BlobVersion}\"");
        try
        {
            var properties = (await blob.GetPropertiesAsync(new BlobRequestConditions { IfMatch = listed }, cancellationToken).ConfigureAwait(false)).Value;
            if (properties.ContentLength > maxBytes)
            {
                throw new InvalidOperationException($"Scan {scan.ScanId} is {properties.ContentLength} bytes, over Images:MaxBytes ({maxBytes}); it would be rejected, not scored.");
            }

            var content = (await blob.DownloadContentAsync(new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = listed } }, cancellationToken).ConfigureAwait(false)).Value;
            var written = (await blob.UploadAsync(
                content.Content,
                new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = properties.ContentType },
                    Metadata = properties.Metadata,
                    Conditions = new BlobRequestConditions { IfMatch = listed },
                },
                cancellationToken).ConfigureAwait(false)).Value;
            return new ScanIdentity(scan.Modality, scan.BlobName, written.ETag.ToString(), written.LastModified);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return null;
        }
    }
}
