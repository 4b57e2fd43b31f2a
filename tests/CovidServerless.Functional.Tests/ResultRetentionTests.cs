using Azure.Data.Tables;
using CovidServerless.Core;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Series;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The retention sweep against Azurite. Rows get their Timestamp from the storage service, so "old" rows are the ones
/// written first and the sweep's clock (a FakeTimeProvider) is set to the retention after the first "new" row.
/// </summary>
public sealed class ResultRetentionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly StorageHarness storage = new(azurite);

    /// <summary>Every kind of row a scan leaves: its blob's result rows, index, attempts, series slice, result and pending mark, timeline.</summary>
    public static readonly string[] PartitionKinds = ["blob", "scan", "attempts", "series", "series-pending", "timeline"];

    [Fact]
    public async Task Rows_older_than_the_retention_are_deleted_from_every_partition_kind_and_newer_rows_stay()
    {
        var tables = new Tables(storage.Clients);
        var (old, newer) = await tables.WriteOldAndNewScansAsync();
        var time = new FakeTimeProvider(newer.Rows.Min(r => r.Timestamp) + TimeSpan.FromDays(30));

        var sweep = await tables.Retention(time, retentionDays: 30).SweepAsync(default);

        Assert.Equal(PartitionKinds, old.Rows.Select(r => r.Kind).Distinct().OrderBy(k => Array.IndexOf(PartitionKinds, k)));
        Assert.Equal(PartitionKinds, newer.Rows.Select(r => r.Kind).Distinct().OrderBy(k => Array.IndexOf(PartitionKinds, k)));
        Assert.Equal(newer.Rows.Select(r => r.Key).Order(), (await tables.AllRowsAsync()).Select(r => r.Key).Order());
        Assert.Equal((old.Rows.Count, 0), (sweep.Deleted, sweep.Kept));
    }

    [Fact]
    public async Task A_swept_scan_is_no_longer_returned_by_any_results_query_and_a_newer_one_still_is()
    {
        var tables = new Tables(storage.Clients);
        var (old, kept) = await tables.WriteOldAndNewScansAsync();

        await tables.Retention(new FakeTimeProvider(kept.Rows.Min(r => r.Timestamp) + TimeSpan.FromDays(7)), retentionDays: 7).SweepAsync(default);

        var query = new ResultsQuery(tables.Store);
        Assert.Null(await query.GetLatestAsync(Modality.Ct, old.Id.BlobName, default));
        Assert.Empty(await query.GetVersionsAsync(Modality.Ct, old.Id.BlobName, 10, default));
        Assert.Null(await query.GetByScanIdAsync(old.Id.ScanId, default));
        Assert.Null((await query.GetSeriesAsync(old.SeriesUid, default)).Result);
        Assert.Equal(0, await tables.Store.AttemptsAsync(old.Id, default));
        Assert.Equal([kept.Id.ScanId], (await query.ListRecentAsync(null, 100, null, default)).Items.Select(r => r.ScanId));
        Assert.Equal(kept.Id.ScanId, (await query.GetLatestAsync(Modality.Ct, kept.Id.BlobName, default))!.ScanId);
        Assert.Equal(kept.Id.ScanId, (await query.GetByScanIdAsync(kept.Id.ScanId, default))!.ScanId);
        Assert.NotNull((await query.GetSeriesAsync(kept.SeriesUid, default)).Result);
        Assert.Equal(1, await tables.Store.AttemptsAsync(kept.Id, default));
    }

    [Fact]
    public async Task Retention_0_keeps_every_row_however_old()
    {
        var tables = new Tables(storage.Clients);
        await tables.WriteScanAsync("kept", "1.2.826.5");
        var before = await tables.AllRowsAsync();

        var sweep = await tables.Retention(new FakeTimeProvider(DateTimeOffset.UtcNow.AddYears(100)), retentionDays: 0).SweepAsync(default);

        Assert.Equal(RetentionSweep.Off, sweep);
        Assert.Equal(before.Select(r => r.Key).Order(), (await tables.AllRowsAsync()).Select(r => r.Key).Order());
    }

    [Fact]
    public async Task A_partition_with_more_expired_rows_than_one_transaction_takes_is_deleted_whole()
    {
        var tables = new Tables(storage.Clients);
        await tables.Store.EnsureTablesAsync(default);

        // 110 versions of one blob: 330 rows in one partition, more than three transactions take.
        var name = $"many-{Guid.NewGuid():N}.png";
        for (var i = 0; i < 110; i++)
        {
            var id = new ScanIdentity(Modality.Chest, name, $"\"0x{i}\"", DateTimeOffset.UtcNow.AddMinutes(-i));
            await tables.Store.SaveAsync(ScoredResults.For(id), id, default);
        }

        var rows = await tables.AllRowsAsync();
        var time = new FakeTimeProvider(rows.Max(r => r.Timestamp) + TimeSpan.FromDays(1) + TimeSpan.FromMilliseconds(1));

        var sweep = await tables.Retention(time, retentionDays: 1).SweepAsync(default);

        Assert.Equal(440, rows.Count); // 330 result rows + 110 index rows
        Assert.Equal(440, sweep.Deleted);
        Assert.Empty(await tables.AllRowsAsync());
    }

    [Fact]
    public async Task The_loop_sweeps_at_start_and_again_once_each_interval_has_passed()
    {
        var tables = new Tables(storage.Clients);
        var (_, second) = await tables.WriteOldAndNewScansAsync();

        // Started when only the first scan is past the retention; each round ends by starting its wait (a timer).
        var time = new CountingTimeProvider(second.Rows.Min(r => r.Timestamp) + TimeSpan.FromDays(30));
        using var stop = new CancellationTokenSource();
        var loop = tables.Retention(time, retentionDays: 30, sweepIntervalHours: 24).RunAsync(stop.Token);

        await Eventually.UntilAsync(() => time.TimersCreated >= 1, "the first sweep");
        Assert.Equal(second.Rows.Select(r => r.Key).Order(), (await tables.AllRowsAsync()).Select(r => r.Key).Order());
        Assert.Equal(TimeSpan.FromHours(24), time.LastDueTime);

        time.Advance(TimeSpan.FromHours(24));
        await Eventually.UntilAsync(() => time.TimersCreated >= 2, "the second sweep");
        Assert.Empty(await tables.AllRowsAsync());

        await stop.CancelAsync();
        await loop;
    }

    [Fact]
    public async Task Stopping_the_loop_in_the_middle_of_a_sweep_ends_it_quietly()
    {
        await using var hanging = new SilentPort();
        var tables = new Tables(StorageHarness.ClientsFor(hanging.StorageConnectionString));
        using var stop = new CancellationTokenSource();

        var loop = tables.Retention(TimeProvider.System, retentionDays: 30).RunAsync(stop.Token);
        await hanging.FirstConnection.WaitAsync(TimeSpan.FromMinutes(1));
        await stop.CancelAsync();

        await loop.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(loop.IsCompletedSuccessfully);
    }

    internal sealed record Row(string Table, string PartitionKey, string RowKey, DateTimeOffset Timestamp)
    {
        public string Key => $"{Table}/{PartitionKey}/{RowKey}";

        public string Kind => PartitionKey switch
        {
            // The timeline's shards (timeline-00..15) and its legacy single partition.
            _ when PartitionKey == "timeline" || PartitionKey.StartsWith("timeline-", StringComparison.Ordinal) => "timeline",
            SeriesStore.PendingPartition => "series-pending",
            _ when PartitionKey.StartsWith("scan-", StringComparison.Ordinal) => "scan",
            _ when PartitionKey.StartsWith("attempts-", StringComparison.Ordinal) => "attempts",
            _ when PartitionKey.StartsWith("series-", StringComparison.Ordinal) => "series",
            _ when PartitionKey.StartsWith("ct-", StringComparison.Ordinal) || PartitionKey.StartsWith("chest-", StringComparison.Ordinal) => "blob",
            _ => "unknown",
        };
    }

    /// <summary>A test's own pair of tables (so tests never sweep each other's rows) and the stores over them.</summary>
    internal sealed class Tables(StorageClients clients)
    {
        private readonly StorageOptions names = new()
        {
            ResultsTable = $"Results{Guid.NewGuid():N}",
            TimelineTable = $"Timeline{Guid.NewGuid():N}",
        };

        public ResultStore Store => field ??= new ResultStore(clients, Options.Create(names));

        public ResultRetention Retention(TimeProvider time, int retentionDays, int sweepIntervalHours = 24) => new(
            Store,
            Options.Create(new ResultRetentionOptions { RetentionDays = retentionDays, SweepIntervalHours = sweepIntervalHours }),
            time,
            NullLogger<ResultRetention>.Instance);

        public sealed record Written(ScanIdentity Id, string SeriesUid, List<Row> Rows);

        /// <summary>A scan, then (once the service's clock has moved on) another: the rows of each, all older rows first.</summary>
        public async Task<(Written Old, Written New)> WriteOldAndNewScansAsync()
        {
            var oldUid = $"1.2.826.{Random.Shared.Next(1_000_000)}";
            var oldId = await WriteScanAsync("old", oldUid);
            var old = await AllRowsAsync();
            await UntilTheServiceClockPassesAsync(old.Max(r => r.Timestamp));
            var newUid = oldUid + ".2";
            var newId = await WriteScanAsync("new", newUid);
            var newer = (await AllRowsAsync()).ExceptBy(old.Select(r => r.Key), r => r.Key).ToList();
            return (new Written(oldId, oldUid, old), new Written(newId, newUid, newer));
        }

        /// <summary>A CT slice recorded as the pipeline records it: attempt counted, rows, index, series slice and result, timeline.</summary>
        public async Task<ScanIdentity> WriteScanAsync(string label, string seriesUid)
        {
            var id = new ScanIdentity(Modality.Ct, $"{label}-{Guid.NewGuid():N}.dcm", "\"0x1\"", DateTimeOffset.UtcNow);
            var result = ScoredResults.For(id, dicom: new DicomUids("1.2.826.99", seriesUid, $"{seriesUid}.1"));
            var series = new SeriesStore(Store);
            await Store.CountAttemptAsync(id, default);
            await Store.SaveAsync(result, id, default);
            await series.AddSliceAsync(result, default);
            await series.SaveResultAsync(
                new SeriesResult
                {
                    SeriesId = SeriesStore.SeriesId(seriesUid),
                    SeriesInstanceUid = seriesUid,
                    Modality = "ct",
                    Status = ScanStatus.Scored,
                    Rule = SeriesRule.Name,
                },
                default);
            await Store.AddToTimelineAsync(result, id, default);
            return id;
        }

        public async Task<List<Row>> AllRowsAsync()
        {
            var rows = new List<Row>();
            foreach (var table in new[] { names.ResultsTable, names.TimelineTable })
            {
                await foreach (var row in clients.Tables.GetTableClient(table).QueryAsync<TableEntity>())
                {
                    rows.Add(new Row(table, row.PartitionKey, row.RowKey, row.Timestamp!.Value));
                }
            }

            return rows;
        }

        /// <summary>Writes a probe row to a third table until the service stamps it later than <paramref name="time"/>.</summary>
        public async Task UntilTheServiceClockPassesAsync(DateTimeOffset time)
        {
            var probe = clients.Tables.GetTableClient($"Probe{Guid.NewGuid():N}");
            await probe.CreateIfNotExistsAsync();
            for (var i = 0; i < 10_000; i++)
            {
                await probe.UpsertEntityAsync(new TableEntity("probe", "probe"));
                if ((await probe.GetEntityAsync<TableEntity>("probe", "probe")).Value.Timestamp > time)
                {
                    return;
                }
            }

            Assert.Fail("the storage service's clock did not move");
        }
    }
}
