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
    public StorageClients Clients { get; } = new(
        new ConfigurationBuilder().AddInMemoryCollection([new("AzureWebJobsStorage", azurite.ConnectionString)]).Build(),
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

    /// <summary>Every message now in the results queue, decoded (peeked, so they stay).</summary>
    public async Task<List<ScanResult>> PeekResultMessagesAsync()
    {
        var queue = Clients.Queues.GetQueueClient("scan-results");
        if (!await queue.ExistsAsync())
        {
            return [];
        }

        var messages = await queue.PeekMessagesAsync(32);
        return [.. messages.Value.Select(m => ScanResult.FromJson(Encoding.UTF8.GetString(m.Body.ToArray())))];
    }
}
