using CovidServerless.Core.Ingestion;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>
/// A blob that failed every retry lands in the poison queue; it still gets a (failed) result. A poison message whose
/// handling itself failed five times (storage down) lands in the poison queue's own poison queue, handled the same way
/// once storage is back; one that fails there too stops in a third queue that nothing reads, so nothing loops
/// (docs/reliability.md: replaying it).
/// </summary>
public sealed class FailedScanFunction(PoisonScanHandler handler)
{
    [Function("RecordFailedScan")]
    public Task RecordFailedScan(
        [QueueTrigger(PoisonScanHandler.QueueName, Connection = "AzureWebJobsStorage")] string message,
        CancellationToken cancellationToken) =>
        handler.HandleAsync(message, cancellationToken);

    [Function("RecordFailedScanAgain")]
    public Task RecordFailedScanAgain(
        [QueueTrigger(PoisonScanHandler.PoisonOfPoisonQueueName, Connection = "AzureWebJobsStorage")] string message,
        CancellationToken cancellationToken) =>
        handler.HandleAsync(message, cancellationToken);
}
