using Azure;
using Azure.Storage.Queues;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;

namespace CovidServerless.Benchmarks;

/// <summary>
/// Waits for results the way a downstream consumer learns of them: from the results queue, whose message the pipeline
/// sends once the result's rows are written, so a message received means the result is queryable. Receiving up to 32
/// messages at a time instead of querying the table for every scan every 100 ms keeps the benchmark's own load off the
/// storage whose cost it measures.
/// </summary>
internal sealed class ResultMessages(StorageClients clients, TimeSpan timeout)
{
    private readonly QueueClient queue = clients.Queues.GetQueueClient(new StorageOptions().ResultsQueue);
    private readonly Dictionary<(string Modality, string BlobName), ScanResult> received = [];

    /// <returns>The results of <paramref name="scans"/>, in their order.</returns>
    public async Task<ScanResult[]> WaitForAsync(IEnumerable<(Modality Modality, string BlobName)> scans)
    {
        var wanted = scans.Select(scan => (scan.Modality.ToName(), scan.BlobName)).ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (wanted.Any(scan => !received.ContainsKey(scan)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No result message for {wanted.Count(scan => !received.ContainsKey(scan))} of {wanted.Count} scans.");
            }

            if (await ReceiveAsync() == 0)
            {
                await Task.Delay(100);
            }
        }

        return [.. wanted.Select(scan => received[scan])];
    }

    private async Task<int> ReceiveAsync()
    {
        try
        {
            // Hidden for the rest of the run rather than deleted: one request per 32 messages, and each is read once.
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromHours(1))).Value;
            foreach (var message in messages)
            {
                var result = ScanResult.FromJson(message.Body.ToString());
                received[(result.Modality, result.BlobName)] = result;
            }

            return messages.Length;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return 0; // the pipeline creates the queue with its first message
        }
    }
}
