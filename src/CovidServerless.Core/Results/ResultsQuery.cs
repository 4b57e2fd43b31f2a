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
    /// Recent results across blobs, newest upload first, optionally for one modality, status and verdict; results
    /// recorded before timeline rows carried a status and verdict match no such filter. A page is full unless it is the
    /// last: a filtered listing reads each shard on until its next match or its end.
    /// </summary>
    /// <remarks>
    /// A k-way merge of one query per timeline shard (<see cref="TimelineShards.ReadOrder"/>), each read lazily, a page
    /// of <paramref name="top"/> rows at a time. Every shard orders its rows by the same row key, so the continuation
    /// token, the last row key returned, is each shard's position: the next page asks each shard for the rows after it.
    /// </remarks>
    public async Task<ResultPage> ListRecentAsync(
        Modality? modality, int top, string? continuationToken, CancellationToken cancellationToken, string? status = null, string? verdict = null)
    {
        if (continuationToken is not null && !IsContinuationToken(continuationToken))
        {
            throw new ArgumentException("Not a continuation token this query returned.", nameof(continuationToken));
        }

        await store.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var filter = "";
        if (continuationToken is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"RowKey gt {continuationToken}");
        }

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
        var shards = TimelineShards.ReadOrder
            .Select(partition => store.Timeline.QueryAsync<TableEntity>(
                TableClient.CreateQueryFilter($"PartitionKey eq {partition}") + filter, pageSize, cancellationToken: cancellationToken)
                .GetAsyncEnumerator(cancellationToken))
            .ToArray();
        try
        {
            var heads = await Task.WhenAll(shards.Select(NextAsync)).ConfigureAwait(false);
            var items = new List<ScanResult>(pageSize);
            string? last = null;
            while (items.Count < pageSize && Newest(heads) is var next and >= 0)
            {
                last = heads[next]!.RowKey;
                items.Add(ResultRows.FromTimeline(heads[next]!));
                heads[next] = await NextAsync(shards[next]).ConfigureAwait(false);

                // A scan recorded before sharding and again since has a row in a shard and one in the legacy
                // partition, under the same key: list it once, from its shard (read first).
                for (var i = 0; i < heads.Length; i++)
                {
                    while (heads[i]?.RowKey == last)
                    {
                        heads[i] = await NextAsync(shards[i]).ConfigureAwait(false);
                    }
                }
            }

            return new ResultPage(items, heads.Any(h => h is not null) ? last : null);
        }
        finally
        {
            foreach (var shard in shards)
            {
                await shard.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether a token has the form of one <see cref="ListRecentAsync"/> returned: a timeline row key (inverted ticks, '-', more).</summary>
    public static bool IsContinuationToken(string token) =>
        token.Length is > 20 and <= 200
        && token[..19].All(char.IsAsciiDigit)
        && token[19] == '-'
        && token.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c) || c == '-');

    private static async Task<TableEntity?> NextAsync(IAsyncEnumerator<TableEntity> shard) =>
        await shard.MoveNextAsync().ConfigureAwait(false) ? shard.Current : null;

    /// <summary>The shard whose next row is the newest upload (the smallest row key; a tie goes to the shard read first), or -1 when all are read.</summary>
    private static int Newest(TableEntity?[] heads)
    {
        var newest = -1;
        for (var i = 0; i < heads.Length; i++)
        {
            if (heads[i] is { } row && (newest < 0 || string.CompareOrdinal(row.RowKey, heads[newest]!.RowKey) < 0))
            {
                newest = i;
            }
        }

        return newest;
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
