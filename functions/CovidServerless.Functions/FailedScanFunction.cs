using CovidServerless.Core.Ingestion;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>A blob that failed every retry lands in the poison queue; it still gets a (failed) result.</summary>
public sealed class FailedScanFunction(PoisonScanHandler handler)
{
    [Function("RecordFailedScan")]
    public Task RecordFailedScan(
        [QueueTrigger(PoisonScanHandler.QueueName, Connection = "AzureWebJobsStorage")] string message,
        CancellationToken cancellationToken) =>
        handler.HandleAsync(message, cancellationToken);
}
