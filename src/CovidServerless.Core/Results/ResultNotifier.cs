using Azure.Storage.Queues;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Results;

/// <summary>Sends one message per processed scan (scored, rejected or failed) to the results queue.</summary>
public sealed class ResultNotifier(StorageClients clients, IOptions<StorageOptions> options)
{
    private readonly QueueClient queue = clients.Queues.GetQueueClient(options.Value.ResultsQueue);
    private readonly OnceAsync created = new();

    public async Task PublishAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await created.RunAsync(() => queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        await queue.SendMessageAsync(result.ToJson(), cancellationToken).ConfigureAwait(false);
    }
}
