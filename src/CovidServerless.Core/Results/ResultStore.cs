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

    public async Task SaveAsync(ScanResult result, ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);

        // One partition per blob, so a version's rows commit together as one entity-group transaction.
        var rows = ResultRows.ForResultsTable(result, identity)
            .Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row));
        await results.SubmitTransactionAsync(rows, cancellationToken).ConfigureAwait(false);
        await timeline.UpsertEntityAsync(ResultRows.ForTimeline(result, identity), TableUpdateMode.Replace, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Whether this blob version already has its result (ensemble row) stored.</summary>
    public async Task<bool> HasResultAsync(ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = await results.GetEntityIfExistsAsync<TableEntity>(
            identity.PartitionKey, ResultRows.RowKey(identity, ResultRows.EnsembleMember), ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        return row.HasValue;
    }

    public Task EnsureTablesAsync(CancellationToken cancellationToken) => created.RunAsync(async () =>
    {
        await results.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        await timeline.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
    });
}
