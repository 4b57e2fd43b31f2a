using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;

namespace CovidServerless.Core.Ingestion;

/// <summary>One stopped delivery: where it waits, its scan id when it names a scan version, and why it stopped.</summary>
/// <param name="Source"><c>queue</c> (the third poison queue) or <c>dead-letter</c> (an Event Grid dead-letter blob).</param>
/// <param name="Id">The queue message's id, or the dead-letter blob's name (topic, subscription, date and a GUID: no scan names).</param>
public sealed record StoppedScan(string Source, string Id, string? ScanId, long? Attempts, string? Reason)
{
    public const string Queue = "queue";
    public const string DeadLetter = "dead-letter";
}

/// <summary>What a replay moved (queue messages moved back, dead-lettered events written as poison messages), and the dead-letter blobs it emptied and left alone.</summary>
public sealed record ReplayOutcome(IReadOnlyList<StoppedScan> Moved, int DeadLetterBlobs, int DeadLetterBlobsLeft)
{
    public int Messages => Moved.Count(m => m.Source == StoppedScan.Queue);

    public int Events => Moved.Count(m => m.Source == StoppedScan.DeadLetter);
}

/// <summary>
/// The deliveries that nothing retries on its own: messages in <see cref="StoppedQueueName"/> (their handling failed in
/// both poison queues) and Event Grid events dead-lettered to a blob container (undeliverable for a day, or refused).
/// Replaying hands each to <c>RecordFailedScan</c> again through <see cref="PoisonScanHandler.QueueName"/>: the
/// version's final result is announced again, or it is recorded as <c>failed</c> (upload it again to score it).
/// Moves are at least once (sent, then deleted), which the handler tolerates: it writes the same result again.
/// </summary>
public sealed class StoppedScans(StorageClients clients)
{
    /// <summary>Where the host moves a message whose handling failed in <see cref="PoisonScanHandler.PoisonOfPoisonQueueName"/> too; nothing reads it.</summary>
    public const string StoppedQueueName = PoisonScanHandler.PoisonOfPoisonQueueName + "-poison";

    /// <summary>The container infra/modules/blob-event-subscriptions.bicep dead-letters undeliverable events to.</summary>
    public const string DefaultDeadLetterContainer = "eventgrid-deadletter";

    /// <summary>Dead-letter blobs are untrusted input: a larger one is left alone, not read.</summary>
    public const long MaxDeadLetterBlobBytes = 4 * 1024 * 1024;

    private const int Batch = 32; // the most messages one receive or peek returns

    /// <summary>How many messages wait in the third poison queue (approximate, as the service counts them).</summary>
    public async Task<int> CountStoppedMessagesAsync(CancellationToken cancellationToken)
    {
        var queue = clients.Queues.GetQueueClient(StoppedQueueName);
        try
        {
            return (await queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }
    }

    /// <summary>The first messages of the third poison queue (a peek: at most 32, none hidden or moved) and every dead-lettered event.</summary>
    public async Task<IReadOnlyList<StoppedScan>> ListAsync(string deadLetterContainer, CancellationToken cancellationToken)
    {
        var stopped = new List<StoppedScan>();
        var queue = clients.Queues.GetQueueClient(StoppedQueueName);
        try
        {
            foreach (var message in (await queue.PeekMessagesAsync(Batch, cancellationToken).ConfigureAwait(false)).Value)
            {
                stopped.Add(Listed(message.MessageId, message.Body, message.DequeueCount));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No queue: nothing ever stopped there.
        }

        await foreach (var (blob, events) in DeadLettersAsync(deadLetterContainer, cancellationToken).ConfigureAwait(false))
        {
            foreach (var e in events ?? [])
            {
                stopped.Add(new StoppedScan(StoppedScan.DeadLetter, blob.Name, e.Scan?.ScanId, e.Attempts, e.Reason));
            }
        }

        return stopped;
    }

    /// <summary>
    /// Moves up to <paramref name="maxMessages"/> messages of the third poison queue back to the first, then writes
    /// every dead-lettered BlobCreated event of a scan container as a poison message and deletes its blob. A blob that
    /// is too large, not an array of events, or holds an event of no scan container is left where it is.
    /// </summary>
    public async Task<ReplayOutcome> ReplayAsync(string deadLetterContainer, int maxMessages, CancellationToken cancellationToken)
    {
        var target = clients.Queues.GetQueueClient(PoisonScanHandler.QueueName);
        await CreateIfAllowed.RunAsync(() => target.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);

        var moved = new List<StoppedScan>();
        var source = clients.Queues.GetQueueClient(StoppedQueueName);
        try
        {
            while (moved.Count < maxMessages)
            {
                var messages = (await source.ReceiveMessagesAsync(
                    Math.Min(Batch, maxMessages - moved.Count), TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false)).Value;
                if (messages.Length == 0)
                {
                    break;
                }

                foreach (var message in messages)
                {
                    // The same client decodes and encodes, so the handler reads the very body the host wrote.
                    await target.SendMessageAsync(message.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
                    await source.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                    moved.Add(Listed(message.MessageId, message.Body, message.DequeueCount - 1)); // as listed: before this receive
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No queue: nothing ever stopped there.
        }

        var (blobs, left) = (0, 0);
        var container = clients.Blobs.GetBlobContainerClient(deadLetterContainer);
        await foreach (var (blob, found) in DeadLettersAsync(deadLetterContainer, cancellationToken).ConfigureAwait(false))
        {
            if (found is null || found.Count == 0 || found.Any(e => e.Scan is null))
            {
                left++;
                continue;
            }

            foreach (var e in found)
            {
                await target.SendMessageAsync(BinaryData.FromObjectAsJson(e.Scan), cancellationToken: cancellationToken).ConfigureAwait(false);
                moved.Add(new StoppedScan(StoppedScan.DeadLetter, blob.Name, e.Scan!.ScanId, e.Attempts, e.Reason));
            }

            await container.GetBlobClient(blob.Name).DeleteIfExistsAsync(
                conditions: new BlobRequestConditions { IfMatch = blob.Properties.ETag }, cancellationToken: cancellationToken).ConfigureAwait(false);
            blobs++;
        }

        return new ReplayOutcome(moved, blobs, left);
    }

    /// <summary>A message of the third poison queue as listed: its id, the scan it names (if any) and its deliveries there.</summary>
    private static StoppedScan Listed(string messageId, BinaryData body, long dequeueCount) =>
        new(StoppedScan.Queue, messageId, PoisonScanHandler.ScanOf(body.ToString())?.ScanId, dequeueCount, null);

    /// <summary>A poison message as the blob trigger writes it (the fields <see cref="PoisonScanHandler"/> reads).</summary>
    private sealed record PoisonMessage(string Type, string ContainerName, string BlobName, string ETag)
    {
        [System.Text.Json.Serialization.JsonIgnore]
        public string ScanId => ScanContainers.TryGetModality(ContainerName, out var modality)
            ? new ScanIdentity(modality, BlobName, ETag, default).ScanId
            : string.Empty;
    }

    private sealed record DeadLetteredEvent(PoisonMessage? Scan, long? Attempts, string? Reason);

    /// <summary>Each dead-letter blob with its events; null events where the blob is too large or not an array of events.</summary>
    private async IAsyncEnumerable<(BlobItem Blob, List<DeadLetteredEvent>? Events)> DeadLettersAsync(
        string containerName, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var container = clients.Blobs.GetBlobContainerClient(containerName);
        if (!await container.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            yield break;
        }

        await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (blob.Properties.ContentLength is not { } length || length > MaxDeadLetterBlobBytes)
            {
                yield return (blob, null);
                continue;
            }

            var content = (await container.GetBlobClient(blob.Name).DownloadContentAsync(
                new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = blob.Properties.ETag } }, cancellationToken).ConfigureAwait(false)).Value;
            yield return (blob, content.Details.ContentLength > MaxDeadLetterBlobBytes ? null : Parse(content.Content));
        }
    }

    /// <summary>The events of a dead-letter blob (a JSON array of Event Grid events), or null when it is not one.</summary>
    private static List<DeadLetteredEvent>? Parse(BinaryData content)
    {
        try
        {
            using var document = JsonDocument.Parse(content, new JsonDocumentOptions { MaxDepth = 16 });
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var events = new List<DeadLetteredEvent>();
            foreach (var e in document.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                var attempts = e.TryGetProperty("deliveryAttempts", out var a) && a.TryGetInt64(out var n) ? n : (long?)null;
                events.Add(new DeadLetteredEvent(ScanOf(e), attempts, Property(e, "deadLetterReason")));
            }

            return events;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The scan version a BlobCreated event names, from its subject ("/blobServices/default/containers/{container}/blobs/{name}",
    /// the name as uploaded) and its data's eTag; null for another event or container.
    /// </summary>
    private static PoisonMessage? ScanOf(JsonElement e)
    {
        const string prefix = "/blobServices/default/containers/";
        if ((Property(e, "eventType") ?? Property(e, "type")) != "Microsoft.Storage.BlobCreated"
            || Property(e, "subject") is not { } subject || !subject.StartsWith(prefix, StringComparison.Ordinal)
            || subject[prefix.Length..].Split("/blobs/", 2) is not [var container, { Length: > 0 } name]
            || !ScanContainers.TryGetModality(container, out _)
            || !e.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || Property(data, "eTag") is not { Length: > 0 } eTag)
        {
            return null;
        }

        return new PoisonMessage("BlobTrigger", container, name, eTag);
    }

    private static string? Property(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
