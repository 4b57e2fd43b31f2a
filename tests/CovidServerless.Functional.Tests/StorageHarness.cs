using System.Text;
using Azure.Data.Tables;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

/// <summary>Direct access to the storage a test's pipeline writes, to check rows and messages as they really are.</summary>
internal sealed class StorageHarness(Azurite azurite)
{
    public StorageClients Clients { get; } = ClientsFor(azurite.ConnectionString);

    public static StorageClients ClientsFor(string connectionString) => new(
        new ConfigurationBuilder().AddInMemoryCollection([new("AzureWebJobsStorage", connectionString)]).Build(),
        Options.Create(new StorageOptions()));

    public async Task<List<TableEntity>> RowsForBlobAsync(Modality modality, string blobName)
    {
        var table = Clients.Tables.GetTableClient("ScanResults");
        var partition = ScanIdentity.BlobPartitionKey(modality, blobName);
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<ScanResult> received = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> series = new();

    /// <summary>The series messages (kind "series") received so far by <see cref="ResultMessagesAsync"/>, as JSON.</summary>
    public IReadOnlyList<string> SeriesMessages => [.. series];

    /// <summary>
    /// Every scan message the pipeline has sent to the results queue so far, decoded, oldest first. Read as a downstream
    /// consumer reads them (received and deleted) and kept here: a peek sees only the first 32, and the shared
    /// pipeline's queue holds more than that.
    /// </summary>
    public async Task<List<ScanResult>> ResultMessagesAsync()
    {
        var queue = Clients.Queues.GetQueueClient("scan-results");
        if (await queue.ExistsAsync())
        {
            while ((await queue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } messages)
            {
                foreach (var message in messages)
                {
                    // A consumer switches on kind: CT series results share the queue with scan results.
                    var json = Encoding.UTF8.GetString(message.Body.ToArray());
                    using var document = System.Text.Json.JsonDocument.Parse(json);
                    if (document.RootElement.GetProperty("kind").GetString() == "series")
                    {
                        series.Enqueue(json);
                    }
                    else
                    {
                        received.Enqueue(ScanResult.FromJson(json));
                    }

                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                }
            }
        }

        return [.. received];
    }
}
