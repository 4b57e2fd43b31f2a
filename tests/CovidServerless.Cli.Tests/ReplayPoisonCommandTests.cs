using System.Text.Json;
using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Tests;

/// <summary><c>covidscan replay-poison</c>: the deliveries nothing retries, listed and handed to RecordFailedScan again, against Azurite.</summary>
[Collection(ConsoleCapture.Collection)]
public sealed class ReplayPoisonCommandTests : PipelineOnAzurite
{
    private const string Stopped = "webjobs-blobtrigger-poison-poison-poison";
    private const string Poison = "webjobs-blobtrigger-poison";

    private StorageClients Clients => Services.GetRequiredService<StorageClients>();

    private BlobContainerClient DeadLetters => Clients.Blobs.GetBlobContainerClient("eventgrid-deadletter");

    /// <summary>A message as the host leaves it in the third poison queue: the blob trigger's poison message, base64.</summary>
    private async Task StopAsync(ScanIdentity scan)
    {
        var queue = Clients.Queues.GetQueueClient(Stopped);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(JsonSerializer.Serialize(new
        {
            Type = "BlobTrigger",
            FunctionId = "Host.Functions.ScoreChestScan",
            BlobType = "BlockBlob",
            ContainerName = ScanContainers.For(scan.Modality),
            scan.BlobName,
            scan.ETag,
        }));
    }

    /// <summary>A dead-letter blob as Event Grid writes it: a JSON array of events (EventGridSchema) with the dead-letter fields added.</summary>
    private async Task<string> DeadLetterAsync(string json)
    {
        await DeadLetters.CreateIfNotExistsAsync();
        var name = $"SYSTEMTOPIC/BLOB-CHEST-TO-SCORECHESTSCAN/2026/12/6/19/{Guid.NewGuid()}.json";
        await DeadLetters.GetBlobClient(name).UploadAsync(new BinaryData(json));
        return name;
    }

    private static string BlobCreated(string container, string blobName, string eTag) => JsonSerializer.Serialize(new object[]
    {
        new
        {
            topic = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
            subject = $"/blobServices/default/containers/{container}/blobs/{blobName}",
            eventType = "Microsoft.Storage.BlobCreated",
            id = Guid.NewGuid().ToString(),
            data = new { api = "PutBlob", eTag, contentType = "image/png", blobType = "BlockBlob", url = $"https://st.blob.core.windows.net/{container}/{Uri.EscapeDataString(blobName)}" },
            dataVersion = "",
            metadataVersion = "1",
            eventTime = "2026-12-06T19:00:00Z",
            deadLetterReason = "MaxDeliveryAttemptsExceeded",
            deliveryAttempts = 30,
            lastDeliveryOutcome = "Probation",
        },
    });

    private async Task<(int Exit, List<JsonElement> Lines, string Error)> ReplayAsync(params string[] options)
    {
        var (exit, lines, error) = await RunCliAsync(["replay-poison", .. options]);
        // No blob name leaves the command.
        Assert.DoesNotContain("ward", string.Join('\n', lines.Select(l => l.GetRawText())) + error, StringComparison.Ordinal);
        return (exit, lines, error);
    }

    /// <summary>Hands every message of the first poison queue to the handler RecordFailedScan runs, as the host would.</summary>
    private async Task<List<ScanResult?>> RecordFailedScanAsync()
    {
        var queue = Clients.Queues.GetQueueClient(Poison);
        var handler = Services.GetRequiredService<PoisonScanHandler>();
        var results = new List<ScanResult?>();
        while ((await queue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } messages)
        {
            foreach (var message in messages)
            {
                results.Add(await handler.HandleAsync(message.Body.ToString(), default));
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }

        return results;
    }

    private async Task<int> WaitingAsync(string queue) =>
        (await Clients.Queues.GetQueueClient(queue).GetPropertiesAsync()).Value.ApproximateMessagesCount;

    [Fact]
    public async Task Without_move_it_lists_the_stopped_messages_and_dead_lettered_events_by_scan_id_and_moves_nothing()
    {
        var first = await UploadAsync("ward/stopped-1.png", 10);
        var second = await UploadAsync("ward/stopped-2.png", 20);
        var lost = await UploadAsync("ward/dead-lettered.png", 30);
        await StopAsync(first);
        await StopAsync(second);
        var blob = await DeadLetterAsync(BlobCreated("chest", lost.BlobName, lost.ETag));

        var (exit, lines, error) = await ReplayAsync();

        Assert.Equal(0, exit);
        Assert.Equal(
            new (string?, string?)[] { ("queue", first.ScanId), ("queue", second.ScanId), ("dead-letter", lost.ScanId) },
            lines.Select(l => (l.GetProperty("source").GetString(), l.GetProperty("scanId").GetString())));
        Assert.Equal(blob, lines[2].GetProperty("id").GetString());
        Assert.Equal(("MaxDeliveryAttemptsExceeded", 30), (lines[2].GetProperty("reason").GetString(), lines[2].GetProperty("attempts").GetInt32()));
        Assert.Contains($"2 message(s) in {Stopped} (at most the first 32 listed), 1 dead-lettered event(s); --move replays them.", error, StringComparison.Ordinal);
        Assert.Equal(2, await WaitingAsync(Stopped));
        Assert.True(await DeadLetters.GetBlobClient(blob).ExistsAsync());
    }

    [Fact]
    public async Task Move_hands_each_stopped_message_back_to_the_poison_queue_where_its_scan_ends_failed()
    {
        var scans = new[] { await UploadAsync("ward/a.png", 40), await UploadAsync("ward/b.png", 50), await UploadAsync("ward/c.png", 60) };
        foreach (var scan in scans)
        {
            await StopAsync(scan);
        }

        var (exit, lines, error) = await ReplayAsync("--move");
        var recorded = await RecordFailedScanAsync();

        Assert.Equal(0, exit);
        Assert.Contains($"3 message(s) moved to {Poison}", error, StringComparison.Ordinal);
        Assert.Equal(scans.Select(s => ("queue", s.ScanId)).Order(), lines.Select(l => (l.GetProperty("source").GetString()!, l.GetProperty("scanId").GetString()!)).Order());
        Assert.All(lines, l => Assert.Equal(0, l.GetProperty("attempts").GetInt64())); // as a listing shows them: the move's own receive not counted
        Assert.Equal(0, await WaitingAsync(Stopped));
        Assert.Equal(scans.Select(s => s.ScanId).Order(), recorded.Select(r => r!.ScanId).Order());
        var store = Services.GetRequiredService<ResultStore>();
        foreach (var scan in scans)
        {
            Assert.Equal(ScanStatus.Failed, (await store.FindAsync(scan, default))?.Status);
        }
    }

    [Fact]
    public async Task Move_with_max_moves_only_that_many_messages()
    {
        for (var i = 0; i < 5; i++)
        {
            await StopAsync(await UploadAsync($"ward/max-{i}.png", (byte)(70 + i)));
        }

        var (exit, _, error) = await ReplayAsync("--move", "--max", "2");

        Assert.Equal(0, exit);
        Assert.Contains($"2 message(s) moved to {Poison}", error, StringComparison.Ordinal);
        Assert.Equal((3, 2), (await WaitingAsync(Stopped), await WaitingAsync(Poison)));
    }

    [Fact]
    public async Task Move_writes_dead_lettered_scan_events_as_poison_messages_and_leaves_blobs_it_cannot_read()
    {
        var lost = await UploadAsync("ward/lost in the outage #1.png", 90);
        var replayed = await DeadLetterAsync(BlobCreated("chest", lost.BlobName, lost.ETag));
        var otherContainer = await DeadLetterAsync(BlobCreated("archive", "ward/x.png", "\"0x1\""));
        var notEvents = await DeadLetterAsync("{\"not\":\"an array\"}");

        var (exit, lines, error) = await ReplayAsync("--move");
        var recorded = await RecordFailedScanAsync();

        Assert.Equal(0, exit);
        Assert.Contains("1 dead-lettered event(s) from 1 blob(s) written there as poison messages; 2 dead-letter blob(s) left", error, StringComparison.Ordinal);
        var line = Assert.Single(lines);
        Assert.Equal(("dead-letter", replayed, lost.ScanId), (line.GetProperty("source").GetString(), line.GetProperty("id").GetString(), line.GetProperty("scanId").GetString()));
        var result = Assert.Single(recorded);
        Assert.Equal((lost.ScanId, ScanStatus.Failed), (result!.ScanId, result.Status));
        Assert.Equal(lost.UploadedAt, result.UploadedAt); // the handler found the same version in the container
        Assert.False(await DeadLetters.GetBlobClient(replayed).ExistsAsync());
        Assert.True(await DeadLetters.GetBlobClient(otherContainer).ExistsAsync());
        Assert.True(await DeadLetters.GetBlobClient(notEvents).ExistsAsync());
    }

    [Fact]
    public async Task A_scan_already_answered_keeps_its_result_when_its_stopped_message_is_replayed()
    {
        var scan = await UploadAsync("ward/answered.png", 100);
        var store = Services.GetRequiredService<ResultStore>();
        await SaveRejectedAsync(scan);
        await StopAsync(scan);

        await ReplayAsync("--move");
        var recorded = await RecordFailedScanAsync();

        Assert.Equal(ScanStatus.Rejected, Assert.Single(recorded)!.Status);
        Assert.Equal(ScanStatus.Rejected, (await store.FindAsync(scan, default))!.Status);
    }
}
