using Azure.Storage.Queues;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Results;

/// <summary>Sends one message per processed scan (scored, rejected or failed) and per aggregated CT series to the results queue.</summary>
public sealed class ResultNotifier(StorageClients clients, IOptions<StorageOptions> options)
{
    private readonly QueueClient queue = clients.Queues.GetQueueClient(options.Value.ResultsQueue);
    private readonly OnceAsync created = new();

    public Task PublishAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        return SendAsync(result.ToJson(), cancellationToken);
    }

    /// <summary>A CT series' result (<c>kind: "series"</c>), on the same queue as the scans' (<c>kind: "scan"</c>).</summary>
    public Task PublishAsync(Series.SeriesResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        return SendAsync(result.ToJson(), cancellationToken);
    }

    private async Task SendAsync(string json, CancellationToken cancellationToken)
    {
        await created.RunAsync(() => CreateIfAllowed.RunAsync(() => queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken))).ConfigureAwait(false);
        await queue.SendMessageAsync(json, cancellationToken).ConfigureAwait(false);
    }
}
