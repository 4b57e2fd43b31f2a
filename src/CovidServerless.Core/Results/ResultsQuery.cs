using Azure.Data.Tables;

namespace CovidServerless.Core.Results;

/// <summary>A page of results, newest upload first; pass <see cref="ContinuationToken"/> back for the next page.</summary>
public sealed record ResultPage(IReadOnlyList<ScanResult> Items, string? ContinuationToken);

/// <summary>Answers results queries for every HTTP host and the CLI.</summary>
public sealed class ResultsQuery(ResultStore store)
{
    public const int MaxPageSize = 100;

    /// <summary>The newest version's result for a blob, or null when it has none (yet).</summary>
    public async Task<ScanResult?> GetLatestAsync(Modality modality, string blobName, CancellationToken cancellationToken)
    {
        var versions = await GetVersionsAsync(modality, blobName, 1, cancellationToken).ConfigureAwait(false);
        return versions.Count > 0 ? versions[0] : null;
    }

    /// <summary>
    /// Results of a blob's versions, newest upload first. Upload times have one-second resolution (Last-Modified), so
    /// versions uploaded within the same second tie; of those, the one processed last comes first, which is the later
    /// upload when each version is processed once, in the order the trigger saw them.
    /// </summary>
    public async Task<IReadOnlyList<ScanResult>> GetVersionsAsync(
        Modality modality, string blobName, int maxVersions, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var partition = ScanIdentity.BlobPartitionKey(modality, blobName);
        var rows = store.Results.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken);

        // Rows come in row-key order: upload time descending, then by a hash of the version.
        var results = new List<ScanResult>();
        var current = new List<TableEntity>();
        await foreach (var row in rows.ConfigureAwait(false))
        {
            if (current.Count > 0 && ResultRows.VersionOf(current[0]) != ResultRows.VersionOf(row))
            {
                var uploadedTogether = ResultRows.UploadKeyOf(current[0]) == ResultRows.UploadKeyOf(row);
                AddVersion(results, current);
                current = [];
                if (results.Count >= maxVersions && !uploadedTogether)
                {
                    break;
                }
            }

            current.Add(row);
        }

        AddVersion(results, current);
        return [.. results.OrderByDescending(r => r.UploadedAt).ThenByDescending(r => r.ProcessedAt).Take(maxVersions)];
    }

    /// <summary>The result recorded under a scan id (one blob version), or null when none is recorded (yet).</summary>
    public async Task<ScanResult?> GetByScanIdAsync(string scanId, CancellationToken cancellationToken)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var row = await store.Results.GetEntityIfExistsAsync<TableEntity>(
            ResultRows.IndexPartition(scanId), ResultRows.IndexRowKey, select: ["Result"], cancellationToken).ConfigureAwait(false);
        return row.HasValue ? ResultRows.FromTimeline(row.Value!) : null;
    }

    /// <summary>
    /// The heatmap maps stored in a result's ensemble row (<see cref="Heatmaps.HeatmapMaps"/>'s bytes, not decoded),
    /// or null where it has none. A property of another type reads as no bytes, which no decoder accepts.
    /// </summary>
    public async Task<byte[]?> GetHeatmapMapsAsync(ScanResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!ModalityNames.TryParse(result.Modality, out var modality))
        {
            return null;
        }

        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var identity = new ScanIdentity(modality, result.BlobName, result.BlobVersion, result.UploadedAt);
        var row = await store.Results.GetEntityIfExistsAsync<TableEntity>(
            identity.PartitionKey,
            ResultRows.RowKey(identity, ResultRows.EnsembleMember),
            select: [ResultRows.HeatmapMapsProperty],
            cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || !row.Value!.TryGetValue(ResultRows.HeatmapMapsProperty, out var value))
        {
            return null;
        }

        return value switch
        {
            null => null,
            byte[] bytes => bytes,
            BinaryData data => data.ToArray(),
            _ => [],
        };
    }

    /// <summary>A CT series' result, or null when none is written (yet); and whether slices of it await a quiet period.</summary>
    public async Task<(Series.SeriesResult? Result, bool Pending)> GetSeriesAsync(string seriesInstanceUid, CancellationToken cancellationToken)
    {
        var series = new Series.SeriesStore(store);
        var result = await series.FindResultAsync(seriesInstanceUid, cancellationToken).ConfigureAwait(false);
        return (result, await series.IsPendingAsync(seriesInstanceUid, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Recent results across blobs, newest upload first, optionally for one modality, status and verdict. A filtered
    /// page may hold fewer than <paramref name="top"/> results and still have a next page (Table storage stops a page
    /// after a bounded scan); results recorded before timeline rows carried a status and verdict match no such filter.
    /// </summary>
    public async Task<ResultPage> ListRecentAsync(
        Modality? modality, int top, string? continuationToken, CancellationToken cancellationToken, string? status = null, string? verdict = null)
    {
        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ResultRows.TimelinePartition}");
        if (modality is { } m)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Modality eq {m.ToName()}");
        }

        if (status is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Status eq {status}");
        }

        if (verdict is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Verdict eq {verdict}");
        }

        var pageSize = Math.Clamp(top, 1, MaxPageSize);
        await foreach (var page in store.Timeline.QueryAsync<TableEntity>(filter, pageSize, cancellationToken: cancellationToken)
            .AsPages(continuationToken, pageSize).ConfigureAwait(false))
        {
            return new ResultPage([.. page.Values.Select(ResultRows.FromTimeline)], page.ContinuationToken);
        }

        return new ResultPage([], null);
    }

    private static void AddVersion(List<ScanResult> results, List<TableEntity> rows)
    {
        var ensemble = rows.Find(r => r.GetString("Member") == ResultRows.EnsembleMember);
        if (ensemble is not null)
        {
            results.Add(ResultRows.ToResult(ensemble, rows.Where(r => r != ensemble).OrderBy(r => r.GetInt32("Position") ?? int.MaxValue)));
        }
    }
}
