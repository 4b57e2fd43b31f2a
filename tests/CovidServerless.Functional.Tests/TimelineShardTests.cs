using Azure.Data.Tables;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

/// <summary>The timeline spread over partitions: where rows land, and listing them newest first across all of them.</summary>
public sealed class TimelineShardTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly StorageHarness storage = new(azurite);

    // A timeline table of its own per test, so no other test's rows interleave.
    private readonly StorageOptions options = new() { TimelineTable = $"Timeline{Guid.NewGuid():N}" };

    private ResultStore Store => new(storage.Clients, Options.Create(options));

    private TableClient Timeline => storage.Clients.Tables.GetTableClient(options.TimelineTable);

    private static ScanIdentity Scan(Modality modality, int i) =>
        new(modality, $"shards/{modality.ToName()}-{i}.png", $"\"0x{i:X}\"", Start.AddSeconds(i));

    /// <summary>Scans 0..count-1, uploaded a second apart, written to the timeline in a shuffled order.</summary>
    private async Task<List<ScanIdentity>> WriteAsync(int count, Func<int, Modality>? modalityOf = null)
    {
        var scans = Enumerable.Range(0, count).Select(i => Scan(modalityOf?.Invoke(i) ?? Modality.Chest, i)).ToList();
        foreach (var id in scans.OrderBy(id => id.ScanId, StringComparer.Ordinal))
        {
            await Store.AddToTimelineAsync(ScoredResults.For(id, 0.7, id.UploadedAt.AddSeconds(2)), id, default);
        }

        return scans;
    }

    private async Task<List<TableEntity>> RowsAsync() => await Timeline.QueryAsync<TableEntity>().ToListAsync();

    private static List<string> NewestFirst(IEnumerable<ScanIdentity> scans) =>
        [.. scans.OrderByDescending(id => id.UploadedAt).Select(id => id.ScanId)];

    /// <summary>Every page of a listing, following its continuation tokens to the end.</summary>
    private async Task<List<ResultPage>> AllPagesAsync(int top, Modality? modality = null)
    {
        var query = new ResultsQuery(Store);
        var pages = new List<ResultPage> { await query.ListRecentAsync(modality, top, null, default) };
        while (pages[^1].ContinuationToken is { } token)
        {
            Assert.True(pages.Count <= 200, "the listing ends");
            pages.Add(await query.ListRecentAsync(modality, top, token, default));
        }

        return pages;
    }

    /// <summary>A row as every timeline row was written before sharding: all in the one partition "timeline".</summary>
    private static TableEntity LegacyRow(ScanResult result, ScanIdentity id) =>
        new("timeline", $"{id.VersionKey}-{id.PartitionKey}")
        {
            ["ScanId"] = result.ScanId,
            ["Modality"] = result.Modality,
            ["Status"] = result.Status,
            ["Verdict"] = result.Verdict,
            ["Result"] = result.ToJson(),
        };

    [Fact]
    public async Task Timeline_rows_spread_over_sixteen_partitions_and_a_scan_written_again_replaces_its_own_row()
    {
        var scans = await WriteAsync(48);
        var before = await RowsAsync();

        var again = scans[5];
        await Store.AddToTimelineAsync(ScoredResults.For(again, 0.2, again.UploadedAt.AddSeconds(2)), again, default);
        var after = await RowsAsync();

        Assert.Equal(48, before.Count);
        var partitions = before.Select(r => r.PartitionKey).Distinct().ToList();
        Assert.True(partitions.Count >= 8, $"48 scans landed on {partitions.Count} partitions");
        Assert.All(partitions, p => Assert.Matches("^timeline-(0[0-9]|1[0-5])$", p));
        Assert.Equal(48, after.Count);
        var row = Assert.Single(after, r => r.GetString("ScanId") == again.ScanId);
        Assert.Equal(before.Single(r => r.GetString("ScanId") == again.ScanId).PartitionKey, row.PartitionKey);
        Assert.Equal(0.2, ScanResult.FromJson(row.GetString("Result")).PCovid);
    }

    [Fact]
    public async Task Recent_results_list_newest_upload_first_across_all_partitions()
    {
        var scans = await WriteAsync(40);

        var page = await new ResultsQuery(Store).ListRecentAsync(null, ResultsQuery.MaxPageSize, null, default);

        Assert.Equal(NewestFirst(scans), page.Items.Select(r => r.ScanId));
        Assert.Null(page.ContinuationToken);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(35)]
    public async Task Paging_returns_each_scan_exactly_once_newest_first_in_full_pages_until_the_last(int top)
    {
        var scans = await WriteAsync(35);

        var pages = await AllPagesAsync(top);

        Assert.Equal(NewestFirst(scans), pages.SelectMany(p => p.Items).Select(r => r.ScanId));
        Assert.All(pages[..^1], p => Assert.Equal(top, p.Items.Count));
        Assert.Equal((35 + top - 1) / top, pages.Count);
    }

    [Fact]
    public async Task The_modality_filter_pages_through_one_modalitys_scans_across_partitions()
    {
        var scans = await WriteAsync(30, i => i % 3 == 0 ? Modality.Ct : Modality.Chest);

        var ct = await AllPagesAsync(3, Modality.Ct);
        var chest = await AllPagesAsync(4, Modality.Chest);

        Assert.Equal(NewestFirst(scans.Where(s => s.Modality == Modality.Ct)), ct.SelectMany(p => p.Items).Select(r => r.ScanId));
        Assert.Equal(NewestFirst(scans.Where(s => s.Modality == Modality.Chest)), chest.SelectMany(p => p.Items).Select(r => r.ScanId));
        Assert.All(ct.SelectMany(p => p.Items), r => Assert.Equal("ct", r.Modality));
    }

    [Fact]
    public async Task Rows_written_to_the_single_partition_before_sharding_still_list_in_order_and_count_as_recorded()
    {
        // Even scans were recorded before the timeline was sharded, odd ones after; scan 4 was recorded again since
        // (announced again from storage), so it has a legacy row and a sharded row under the same key.
        var scans = Enumerable.Range(0, 20).Select(i => Scan(Modality.Chest, i)).ToList();
        await Store.EnsureTablesAsync(default);
        foreach (var id in scans.Where((_, i) => i % 2 == 0))
        {
            await Timeline.UpsertEntityAsync(LegacyRow(ScoredResults.For(id, 0.9, id.UploadedAt.AddSeconds(2)), id));
        }

        foreach (var id in scans.Where((_, i) => i % 2 == 1).Append(scans[4]))
        {
            await Store.AddToTimelineAsync(ScoredResults.For(id, 0.1, id.UploadedAt.AddSeconds(2)), id, default);
        }

        var pages = await AllPagesAsync(3);
        var recorded = await Store.RecordedSinceAsync(Modality.Chest, Start, default);

        var listed = pages.SelectMany(p => p.Items).ToList();
        Assert.Equal(NewestFirst(scans), listed.Select(r => r.ScanId));
        Assert.Equal(0.1, listed.Single(r => r.ScanId == scans[4].ScanId).PCovid); // the row written since
        Assert.Equal(0.9, listed.Single(r => r.ScanId == scans[6].ScanId).PCovid);
        Assert.Equal(20, recorded.Count);
        Assert.All(scans, id => Assert.True(recorded.Contains(id)));
    }

    [Fact]
    public async Task Recorded_since_finds_versions_in_every_partition()
    {
        var scans = await WriteAsync(40, i => i % 2 == 0 ? Modality.Ct : Modality.Chest);

        var recorded = await Store.RecordedSinceAsync(Modality.Ct, Start.AddSeconds(10), default);

        var expected = scans.Where(s => s.Modality == Modality.Ct && s.UploadedAt >= Start.AddSeconds(10)).ToList();
        Assert.Equal(expected.Count, recorded.Count);
        Assert.All(expected, id => Assert.True(recorded.Contains(id)));
    }
}
