using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>
/// Blob triggers for the two scan containers. Flex Consumption only supports the Event Grid-based blob trigger;
/// the local host runs the scan watcher on Azurite instead. Both call the same core ingestor.
/// </summary>
public sealed class ScanTriggerFunctions(BlobScanIngestor ingestor)
{
    [Function("ScoreChestScan")]
    public Task ScoreChestScan(
        [BlobTrigger(ScanContainers.Chest + "/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        CancellationToken cancellationToken) =>
        ingestor.IngestAsync(Modality.Chest, blob, cancellationToken);

    [Function("ScoreCtScan")]
    public Task ScoreCtScan(
        [BlobTrigger(ScanContainers.Ct + "/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        CancellationToken cancellationToken) =>
        ingestor.IngestAsync(Modality.Ct, blob, cancellationToken);
}
