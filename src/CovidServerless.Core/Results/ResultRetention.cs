using Azure;
using Azure.Data.Tables;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Results;

/// <summary>What one retention sweep did: rows deleted, and rows found expired but rewritten before their delete (kept).</summary>
public sealed record RetentionSweep(DateTimeOffset? CutOff, int Deleted, int Kept)
{
    public static readonly RetentionSweep Off = new(null, 0, 0);
}

/// <summary>
/// Deletes result rows older than <see cref="ResultRetentionOptions.RetentionDays"/> from every table the pipeline
/// writes (results, index, attempts and series rows in ScanResults; the timeline), the rows the storage lifecycle rule
/// leaves behind when it deletes the scans. A row's age is its Timestamp, the time the service last wrote it: every
/// row has one (attempts and index rows carry no ProcessedAt), no client can set it, and it is never earlier than the
/// result's processing, so no row goes before its result is older than the retention, and a row rewritten later
/// (a version processed again) is kept for the whole retention after that write. One query by time per table, whatever
/// the partitions are called (the timeline's shards included); deletes are entity-group transactions of at most 100
/// rows of one partition, each conditional on the ETag read, so a row rewritten after the query is never deleted.
/// Called by the function app's daily timer and the local host's loop.
/// </summary>
public sealed class ResultRetention(ResultStore store, IOptions<ResultRetentionOptions> options, TimeProvider time, ILogger<ResultRetention> logger)
{
    /// <summary>Table storage's limit on the operations in one entity-group transaction.</summary>
    public const int MaxBatch = 100;

    /// <summary>Deletes every expired row once; returns what it did (<see cref="RetentionSweep.Off"/> with retention 0).</summary>
    public async Task<RetentionSweep> SweepAsync(CancellationToken cancellationToken)
    {
        if (options.Value.CutOff(time.GetUtcNow()) is not { } cutOff)
        {
            return RetentionSweep.Off;
        }

        using var activity = PipelineTelemetry.Source.StartActivity("SweepExpiredResults");
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var (deleted, kept) = (0, 0);
        foreach (var (table, name) in new[] { (store.Results, "results"), (store.Timeline, "timeline") })
        {
            var (d, k) = await SweepTableAsync(table, cutOff, cancellationToken).ConfigureAwait(false);
            PipelineTelemetry.RetentionRowsDeleted.Add(d, new KeyValuePair<string, object?>("table", name));
            (deleted, kept) = (deleted + d, kept + k);
        }

        activity?.SetTag("covidscan.retention.rows_deleted", deleted);
        logger.LogInformation(
            "Result retention: deleted {Deleted} rows last written before {CutOff:u} ({Kept} rewritten since and kept)", deleted, cutOff, kept);
        return new RetentionSweep(cutOff, deleted, kept);
    }

    /// <summary>Sweeps at start and every <see cref="ResultRetentionOptions.SweepIntervalHours"/> until stopped (the local host's loop).</summary>
    public Task RunAsync(CancellationToken stoppingToken)
    {
        if (options.Value.RetentionDays == 0)
        {
            logger.LogInformation("Result retention is off (Results:RetentionDays = 0): result rows are kept forever");
            return Task.CompletedTask;
        }

        // Stopped mid-sweep or storage unreachable, the rows not yet deleted go next round.
        return StorageRounds.RunAsync(
            SweepAsync,
            TimeSpan.FromHours(options.Value.SweepIntervalHours),
            time,
            ex => logger.LogWarning("Result retention failed this round ({Error}); it is tried again.", ex.GetType().Name),
            stoppingToken);
    }

    private static async Task<(int Deleted, int Kept)> SweepTableAsync(TableClient table, DateTimeOffset cutOff, CancellationToken cancellationToken)
    {
        // A filter on Timestamp reads the whole table (no index by time), at 1,000 keys a request: one pass a day.
        var rows = table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"Timestamp lt {cutOff}"),
            maxPerPage: 1000,
            select: ["PartitionKey", "RowKey", "Timestamp"],
            cancellationToken: cancellationToken);
        var (deleted, kept) = (0, 0);
        var batch = new List<TableEntity>(MaxBatch);
        await foreach (var row in rows.ConfigureAwait(false))
        {
            // The filter is the service's; this check keeps the promise should a server ignore it.
            if (row.Timestamp is not { } written || written >= cutOff)
            {
                continue;
            }

            // Rows come in key order, so a partition's rows are consecutive; the query's continuation is a key, so
            // deleting rows already read does not disturb it.
            if (batch.Count == MaxBatch || (batch.Count > 0 && batch[0].PartitionKey != row.PartitionKey))
            {
                var (d, k) = await DeleteAsync(table, batch, cancellationToken).ConfigureAwait(false);
                (deleted, kept) = (deleted + d, kept + k);
                batch.Clear();
            }

            batch.Add(row);
        }

        if (batch.Count > 0)
        {
            var (d, k) = await DeleteAsync(table, batch, cancellationToken).ConfigureAwait(false);
            (deleted, kept) = (deleted + d, kept + k);
        }

        return (deleted, kept);
    }

    /// <summary>
    /// Deletes rows of one partition (at most <see cref="MaxBatch"/>) as read: one transaction, each delete conditional
    /// on the row's ETag. Should any row have changed or gone since, the transaction fails whole and the rows are deleted
    /// one by one, keeping the changed ones.
    /// </summary>
    internal static async Task<(int Deleted, int Kept)> DeleteAsync(TableClient table, IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken)
    {
        if (rows.Count is 0 or > MaxBatch || rows.Any(r => r.PartitionKey != rows[0].PartitionKey || r.ETag == default))
        {
            throw new ArgumentException($"1 to {MaxBatch} rows of one partition, each with the ETag it was read with.", nameof(rows));
        }

        try
        {
            await table.SubmitTransactionAsync(
                rows.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, r.ETag)), cancellationToken).ConfigureAwait(false);
            return (rows.Count, 0);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 404 or 412)
        {
        }

        var (deleted, kept) = (0, 0);
        foreach (var row in rows)
        {
            try
            {
                // A row already gone answers 404, which the client counts as done.
                await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                deleted++;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                kept++;
            }
        }

        return (deleted, kept);
    }
}
