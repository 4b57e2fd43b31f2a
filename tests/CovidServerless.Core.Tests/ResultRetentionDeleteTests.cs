using Azure.Data.Tables;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;

namespace CovidServerless.Core.Tests;

/// <summary>The sweep's delete step against Azurite: what it read is deleted, unless it was written again since.</summary>
public sealed class ResultRetentionDeleteTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private async Task<TableClient> TableWithRowsAsync(int rows)
    {
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient($"Delete{Guid.NewGuid():N}");
        await table.CreateIfNotExistsAsync();
        for (var i = 0; i < rows; i++)
        {
            await table.UpsertEntityAsync(new TableEntity("blob", $"row-{i:D3}") { ["Value"] = i });
        }

        return table;
    }

    private static async Task<List<TableEntity>> ReadAsync(TableClient table)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task The_rows_read_are_deleted_in_one_transaction()
    {
        var table = await TableWithRowsAsync(ResultRetention.MaxBatch);

        var (deleted, kept) = await ResultRetention.DeleteAsync(table, await ReadAsync(table), default);

        Assert.Equal((100, 0), (deleted, kept));
        Assert.Empty(await ReadAsync(table));
    }

    [Fact]
    public async Task A_row_written_again_after_the_sweep_read_it_is_kept_and_the_others_are_deleted()
    {
        var table = await TableWithRowsAsync(5);
        var read = await ReadAsync(table);
        await table.UpsertEntityAsync(new TableEntity("blob", "row-002") { ["Value"] = 42 }, TableUpdateMode.Replace);

        var (deleted, kept) = await ResultRetention.DeleteAsync(table, read, default);

        Assert.Equal((4, 1), (deleted, kept));
        var left = Assert.Single(await ReadAsync(table));
        Assert.Equal(("row-002", 42), (left.RowKey, left.GetInt32("Value")));
    }

    [Fact]
    public async Task A_row_already_gone_does_not_stop_the_others_being_deleted()
    {
        var table = await TableWithRowsAsync(3);
        var read = await ReadAsync(table);
        await table.DeleteEntityAsync("blob", "row-001");

        var (deleted, kept) = await ResultRetention.DeleteAsync(table, read, default);

        Assert.Equal((3, 0), (deleted, kept));
        Assert.Empty(await ReadAsync(table));
    }

    [Fact]
    public async Task More_rows_than_one_transaction_takes_or_rows_of_two_partitions_are_refused()
    {
        var table = await TableWithRowsAsync(ResultRetention.MaxBatch + 1);
        await table.UpsertEntityAsync(new TableEntity("other", "row"));
        var read = await ReadAsync(table);

        await Assert.ThrowsAsync<ArgumentException>(() => ResultRetention.DeleteAsync(table, [.. read.Where(r => r.PartitionKey == "blob")], default));
        await Assert.ThrowsAsync<ArgumentException>(() => ResultRetention.DeleteAsync(table, [.. read.Take(1), .. read.TakeLast(1)], default));
        Assert.Equal(ResultRetention.MaxBatch + 2, (await ReadAsync(table)).Count);
    }
}
