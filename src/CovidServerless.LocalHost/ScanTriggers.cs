using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using Microsoft.Azure.WebJobs;

namespace CovidServerless.LocalHost;

/// <summary>
/// The Functions app's triggers on the WebJobs SDK (the engine under the Functions host): same names, same blob
/// receipts and poison queue, bound to the same core services.
/// </summary>
public sealed class ScanTriggers(BlobScanIngestor ingestor, PoisonScanHandler poison)
{
    [FunctionName("ScoreChestScan")]
    public Task ScoreChestScan([BlobTrigger(ScanContainers.Chest + "/{name}")] BlobClient blob, CancellationToken cancellationToken) =>
        ingestor.IngestAsync(Modality.Chest, blob, cancellationToken);

    [FunctionName("ScoreCtScan")]
    public Task ScoreCtScan([BlobTrigger(ScanContainers.Ct + "/{name}")] BlobClient blob, CancellationToken cancellationToken) =>
        ingestor.IngestAsync(Modality.Ct, blob, cancellationToken);

    [FunctionName("RecordFailedScan")]
    public Task RecordFailedScan([QueueTrigger(PoisonScanHandler.QueueName)] string message, CancellationToken cancellationToken) =>
        poison.HandleAsync(message, cancellationToken);
}
