using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using CovidServerless.Core.Results;

namespace CovidServerless.Core.Series;

/// <summary>
/// CT series in the results table. Partition "series-{SeriesInstanceUID}" (UIDs are digits and dots, valid in keys)
/// holds one row per slice ("slice-{SOPInstanceUID}", so a slice uploaded twice counts once) and the series result
/// ("result"). Partition "series-pending" holds one row per series with slices not yet in a result, with the time its
/// last slice was recorded: the aggregator reads that small partition, not the slices.
/// </summary>
public sealed class SeriesStore(ResultStore store)
{
    public const string PendingPartition = "series-pending";
    public const string ResultRowKey = "result";

    /// <summary>The id logs and traces use for a series (a UID may embed a date, so it is not logged).</summary>
    public static string SeriesId(string seriesInstanceUid) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(seriesInstanceUid)))[..32];

    public static string Partition(string seriesInstanceUid) => $"series-{seriesInstanceUid}";

    /// <summary>Whether a result belongs to a series: a scored or rejected CT scan whose DICOM header gave a series UID.</summary>
    public static bool IsSlice(ScanResult result) =>
        result is { Modality: "ct", Status: ScanStatus.Scored or ScanStatus.Rejected, Dicom.SeriesInstanceUid: not null };

    /// <summary>Records a slice's result in its series and marks the series pending (idempotent: upserts on fixed keys).</summary>
    public async Task AddSliceAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!IsSlice(result))
        {
            return;
        }

        var uids = result.Dicom!;
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var slice = new TableEntity(Partition(uids.SeriesInstanceUid!), $"slice-{uids.SopInstanceUid ?? result.ScanId}")
        {
            ["ScanId"] = result.ScanId,
            ["SopInstanceUid"] = uids.SopInstanceUid,
            ["StudyInstanceUid"] = uids.StudyInstanceUid,
            ["Status"] = result.Status,
            ["PCovid"] = result.PCovid,
            ["Threshold"] = result.Threshold,
            ["ProcessedAt"] = result.ProcessedAt,
        };
        await store.Results.UpsertEntityAsync(slice, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

        // After the slice row: an aggregator that sees this pending row also sees the slice.
        var pending = new TableEntity(PendingPartition, uids.SeriesInstanceUid!)
        {
            ["LastSliceAt"] = result.ProcessedAt,
        };
        await store.Results.UpsertEntityAsync(pending, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Series whose last slice was recorded at or before <paramref name="quietSince"/>, with the pending row's ETag.</summary>
    public async Task<IReadOnlyList<(string SeriesInstanceUid, DateTimeOffset LastSliceAt, ETag ETag)>> QuietSinceAsync(
        DateTimeOffset quietSince, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var due = new List<(string, DateTimeOffset, ETag)>();
        await foreach (var row in store.Results.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {PendingPartition} and LastSliceAt le {quietSince}"),
            cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            due.Add((row.RowKey, row.GetDateTimeOffset("LastSliceAt") ?? quietSince, row.ETag));
        }

        return due;
    }

    /// <summary>Every slice recorded for a series.</summary>
    public async Task<IReadOnlyList<TableEntity>> SlicesAsync(string seriesInstanceUid, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var partition = Partition(seriesInstanceUid);
        var slices = new List<TableEntity>();
        await foreach (var row in store.Results.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {"slice-"} and RowKey lt {"slice."}"),
            cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            slices.Add(row);
        }

        return slices;
    }

    public async Task SaveResultAsync(SeriesResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = new TableEntity(Partition(result.SeriesInstanceUid), ResultRowKey)
        {
            ["Modality"] = result.Modality,
            ["Result"] = result.ToJson(),
        };
        await store.Results.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Clears the pending mark, unless a slice arrived since it was read (its ETag changed): then the series stays pending.</summary>
    public async Task<bool> ClearPendingAsync(string seriesInstanceUid, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await store.Results.DeleteEntityAsync(PendingPartition, seriesInstanceUid, etag, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>The series result last written, or null when none is (yet).</summary>
    public async Task<SeriesResult?> FindResultAsync(string seriesInstanceUid, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = await store.Results.GetEntityIfExistsAsync<TableEntity>(
            Partition(seriesInstanceUid), ResultRowKey, select: ["Result"], cancellationToken).ConfigureAwait(false);
        return row.HasValue ? SeriesResult.FromJson(row.Value!.GetString("Result")) : null;
    }

    /// <summary>Whether slices of the series are waiting for a quiet period.</summary>
    public async Task<bool> IsPendingAsync(string seriesInstanceUid, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = await store.Results.GetEntityIfExistsAsync<TableEntity>(
            PendingPartition, seriesInstanceUid, select: ["LastSliceAt"], cancellationToken).ConfigureAwait(false);
        return row.HasValue;
    }
}
