using Azure.Data.Tables;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Results;

/// <summary>Writes results to Table storage: every write is an upsert on deterministic keys, so retries never duplicate.</summary>
public sealed class ResultStore(StorageClients clients, IOptions<StorageOptions> options)
{
    private readonly TableClient results = clients.Tables.GetTableClient(options.Value.ResultsTable);
    private readonly TableClient timeline = clients.Tables.GetTableClient(options.Value.TimelineTable);
    private readonly OnceAsync created = new();

    internal TableClient Results => results;

    internal TableClient Timeline => timeline;

    /// <summary>The result's rows (ensemble and members), which the results API reads.</summary>
    public async Task SaveAsync(ScanResult result, ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);

        // One partition per blob, so a version's rows commit together as one entity-group transaction.
        var rows = ResultRows.ForResultsTable(result, identity)
            .Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row));
        await results.SubmitTransactionAsync(rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The result's row in the newest-first listing. The pipeline writes it last, after the result's message, so
    /// that it also marks the recording as complete (<see cref="IsRecordedAsync"/>).
    /// </summary>
    public async Task AddToTimelineAsync(ScanResult result, ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        await timeline.UpsertEntityAsync(ResultRows.ForTimeline(result, identity), TableUpdateMode.Replace, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Whether this blob version's result was recorded to the end: saved, announced and listed. A version saved but
    /// not announced (its host died in between) is not, so it is processed again.
    /// </summary>
    public async Task<bool> IsRecordedAsync(ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = await timeline.GetEntityIfExistsAsync<TableEntity>(
            ResultRows.TimelinePartition, ResultRows.TimelineRowKey(identity), ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        return row.HasValue;
    }

    public Task EnsureTablesAsync(CancellationToken cancellationToken) => created.RunAsync(async () =>
    {
        await results.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        await timeline.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
    });
}
