using System.Buffers;
using Azure;
using Azure.Storage.Blobs;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Ingestion;

/// <summary>What every blob trigger calls: reads the blob (refusing oversize ones unread) and processes it.</summary>
public sealed class BlobScanIngestor(ScanProcessor processor, IOptions<ImageLimitsOptions> limits, ILogger<BlobScanIngestor> logger)
{
    /// <returns>The recorded result, or null when the blob was deleted before it could be read.</returns>
    public async Task<ScanResult?> IngestAsync(Modality modality, BlobClient blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        Azure.Storage.Blobs.Models.BlobDownloadStreamingResult download;
        try
        {
            download = (await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            logger.LogWarning("A {Modality} blob was deleted before it could be processed; nothing to score.", modality.ToName());
            return null;
        }

        using (download)
        {
            var details = download.Details;
            var identity = new ScanIdentity(modality, blob.Name, details.ETag.ToString(), details.LastModified);
            var maxBytes = limits.Value.MaxBytes;
            if (details.ContentLength > maxBytes)
            {
                return await processor.RecordUnscoredAsync(
                    identity,
                    ScanStatus.Rejected,
                    $"The file is {details.ContentLength:N0} bytes, over the {maxBytes:N0}-byte limit; it was not read.",
                    cancellationToken).ConfigureAwait(false);
            }

            // Pooled: larger scans (over 85 KB; about half the CT validation files) would each land on the large object heap.
            var length = checked((int)details.ContentLength);
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                var read = await download.Content.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read < length)
                {
                    // The blob's length is known: a shorter read is the transport's fault, not a truncated file, so the
                    // attempt fails and the trigger retries it instead of recording the scan as rejected.
                    throw new IOException($"The download of scan {identity.ScanId} ended after {read:N0} of {length:N0} bytes.");
                }

                var upload = new ScanUpload(identity, buffer.AsMemory(0, read));
                return await processor.ProcessAsync(upload, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer, clearArray: true); // the scan's bytes do not outlive the call in the pool
            }
        }
    }
}
