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

    /// <summary>
    /// The result's rows (ensemble and members), which the results API reads, then its scan id's index row.
    /// <paramref name="heatmapMaps"/> (<see cref="Heatmaps.HeatmapMaps"/>) goes into the ensemble row, in the same transaction as the links.
    /// </summary>
    public async Task SaveAsync(ScanResult result, ScanIdentity identity, CancellationToken cancellationToken, byte[]? heatmapMaps = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);

        // One partition per blob, so a version's rows commit together as one entity-group transaction.
        var rows = ResultRows.ForResultsTable(result, identity, heatmapMaps)
            .Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row));
        await results.SubmitTransactionAsync(rows, cancellationToken).ConfigureAwait(false);

        // The index lives in a partition of its own, so it cannot join the transaction: written after the rows, a
        // look-up by id never finds a result the blob's own route would not.
        await results.UpsertEntityAsync(ResultRows.ForIndex(result), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The row that finds a result by its scan id (written by <see cref="SaveAsync"/>; idempotent).</summary>
    public async Task IndexAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        await results.UpsertEntityAsync(ResultRows.ForIndex(result), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The result recorded for exactly this blob version, or null when it has none.</summary>
    public async Task<ScanResult?> FindAsync(ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);

        // A version's rows are "{versionKey}-{member}": all of them sort between "{versionKey}-" and "{versionKey}.".
        var rows = new List<TableEntity>();
        await foreach (var row in results.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter(
                $"PartitionKey eq {identity.PartitionKey} and RowKey gt {identity.VersionKey + "-"} and RowKey lt {identity.VersionKey + "."}"),
            cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        var ensemble = rows.Find(r => r.GetString("Member") == ResultRows.EnsembleMember);
        return ensemble is null
            ? null
            : ResultRows.ToResult(ensemble, rows.Where(r => r != ensemble).OrderBy(r => r.GetInt32("Position") ?? int.MaxValue));
    }

    /// <summary>
    /// Counts one more processing attempt of a blob version, durably, before the attempt starts: a scan that kills its
    /// host (a native crash, running out of memory) is still counted, so after enough restarts it is recorded as
    /// failed instead of being tried forever. The first attempt costs one insert; later ones a read and a conditional
    /// update (a conflict with another counter is read again, so no attempt goes uncounted).
    /// </summary>
    /// <returns>The attempts counted so far, this one included.</returns>
    public Task<int> CountAttemptAsync(ScanIdentity identity, CancellationToken cancellationToken) =>
        AdjustAttemptsAsync(identity, +1, cancellationToken);

    /// <summary>
    /// Takes back one attempt counted by <see cref="CountAttemptAsync"/>, for an attempt that ended without being the
    /// scan's doing (the scorer could not take it); never below 0.
    /// </summary>
    public Task GiveBackAttemptAsync(ScanIdentity identity, CancellationToken cancellationToken) =>
        AdjustAttemptsAsync(identity, -1, cancellationToken);

    /// <summary>
    /// Adds <paramref name="delta"/> to the version's attempts row (at least 0), inserting it when missing, on the row's
    /// ETag: a conflict with another counter is read again and applied on top of its write, so no change is lost.
    /// </summary>
    private async Task<int> AdjustAttemptsAsync(ScanIdentity identity, int delta, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var partition = ResultRows.AttemptsPartition(identity.ScanId);
        while (true)
        {
            var existing = await results.GetEntityIfExistsAsync<TableEntity>(partition, ResultRows.AttemptsRowKey, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            var row = existing.HasValue ? existing.Value : null;
            var current = row?.GetInt32("Attempts") ?? 0;
            var attempts = Math.Max(0, current + delta);
            if (attempts == current)
            {
                return current;
            }

            try
            {
                if (row is null)
                {
                    await results.AddEntityAsync(new TableEntity(partition, ResultRows.AttemptsRowKey) { ["Attempts"] = attempts }, cancellationToken)
                        .ConfigureAwait(false);
                }
                else
                {
                    row["Attempts"] = attempts;
                    await results.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }

                return attempts;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status is 404 or 409 or 412)
            {
                // Another counter wrote (or the sweep deleted) first: read again and apply on top of that.
            }
        }
    }

    /// <summary>The attempts counted for a blob version (<see cref="CountAttemptAsync"/>), 0 when none.</summary>
    public async Task<int> AttemptsAsync(ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = await results.GetEntityIfExistsAsync<TableEntity>(
            ResultRows.AttemptsPartition(identity.ScanId), ResultRows.AttemptsRowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is not null ? row.Value.GetInt32("Attempts") ?? 0 : 0;
    }

    /// <summary>
    /// The result's row in the newest-first listing. The pipeline writes it last, after the result's message, so
    /// that it also marks the recording as complete (<see cref="RecordedSinceAsync"/>).
    /// </summary>
    public async Task AddToTimelineAsync(ScanResult result, ScanIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        await timeline.UpsertEntityAsync(ResultRows.ForTimeline(result, identity), TableUpdateMode.Replace, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The blob versions of a modality uploaded since <paramref name="since"/> whose results were recorded to the end:
    /// saved, announced and listed (they have timeline rows). A version saved but not announced (its host died in
    /// between) is not among them, so it is processed again. One range query per timeline shard (the legacy partition
    /// included), a request per 1,000 rows, rather than a read per blob.
    /// </summary>
    public async Task<RecordedVersions> RecordedSinceAsync(Modality modality, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);

        // Row keys begin with the upload time's inverted ticks and a '-': every row uploaded at or after since sorts
        // below that time's ticks followed by '.', the character after '-'.
        var upTo = $"{ScanIdentity.InvertedTicks(since)}.";
        var filter = TableClient.CreateQueryFilter($"RowKey lt {upTo} and Modality eq {modality.ToName()}");
        var shards = await Task.WhenAll(TimelineShards.ReadOrder.Select(async partition =>
        {
            var keys = new List<string>();
            await foreach (var row in timeline.QueryAsync<TableEntity>(
                TableClient.CreateQueryFilter($"PartitionKey eq {partition}") + " and " + filter,
                maxPerPage: 1000,
                select: ["RowKey"],
                cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                keys.Add(row.RowKey);
            }

            return keys;
        })).ConfigureAwait(false);
        var recorded = new HashSet<string>(shards.SelectMany(keys => keys), StringComparer.Ordinal);

        return new RecordedVersions(since, recorded);
    }

    public Task EnsureTablesAsync(CancellationToken cancellationToken) => created.RunAsync(async () =>
    {
        await CreateIfAllowed.RunAsync(() => results.CreateIfNotExistsAsync(cancellationToken)).ConfigureAwait(false);
        await CreateIfAllowed.RunAsync(() => timeline.CreateIfNotExistsAsync(cancellationToken)).ConfigureAwait(false);
    });
}

/// <summary>
/// The blob versions uploaded since <see cref="Since"/> whose recording is complete
/// (<see cref="ResultStore.RecordedSinceAsync"/>).
/// </summary>
public sealed class RecordedVersions(DateTimeOffset since, HashSet<string> timelineRowKeys)
{
    public DateTimeOffset Since => since;

    public int Count => timelineRowKeys.Count;

    public bool Contains(ScanIdentity identity) => timelineRowKeys.Contains(ResultRows.TimelineRowKey(identity));

    /// <summary>Whether a start-up check leaves the version alone: uploaded before the window, or recorded to the end.</summary>
    public bool LeaveAlone(ScanIdentity identity) => identity.UploadedAt < since || Contains(identity);
}
