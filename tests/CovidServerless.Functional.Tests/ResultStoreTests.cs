using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

public sealed class ResultStoreTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly StorageHarness storage = new(azurite);

    private ResultStore Store => new(storage.Clients, Options.Create(new StorageOptions()));

    /// <summary>Both writes of a result, as the pipeline makes them (the results message, between them, is not needed here).</summary>
    private async Task SaveAsync(ScanResult result, ScanIdentity id, CancellationToken cancellationToken)
    {
        await Store.SaveAsync(result, id, cancellationToken);
        await Store.AddToTimelineAsync(result, id, cancellationToken);
    }

    [Fact]
    public async Task Attempts_are_counted_per_blob_version_in_storage_and_none_is_lost_when_counted_at_once()
    {
        var id = new ScanIdentity(Modality.Ct, $"attempts/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var newer = id with { ETag = "\"0x2\"" };

        // Separate stores, as separate host processes would have: nothing but the table carries the count.
        var counted = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Store.CountAttemptAsync(id, default)));

        Assert.Equal(Enumerable.Range(1, 8), counted.Order());
        Assert.Equal(8, await Store.AttemptsAsync(id, default));
        Assert.Equal(0, await Store.AttemptsAsync(newer, default));
        Assert.Equal(1, await Store.CountAttemptAsync(newer, default));
        Assert.Empty(await storage.RowsForBlobAsync(Modality.Ct, id.BlobName)); // not among the blob's result rows
    }

    [Fact]
    public async Task Saving_the_same_scan_version_twice_upserts_the_same_rows()
    {
        var id = new ScanIdentity(Modality.Chest, "ward 3/Jane Doe #7?.png", "\"0x1\"", DateTimeOffset.UtcNow);

        await SaveAsync(ScoredResults.For(id, 0.8), id, default);
        await SaveAsync(ScoredResults.For(id, 0.8), id, default);

        var rows = await storage.RowsForBlobAsync(Modality.Chest, id.BlobName);
        Assert.Equal(3, rows.Count);
        Assert.Equal(["ensemble", "resnet50", "vgg16"], rows.Select(r => r.GetString("Member")).Order());
    }

    [Fact]
    public async Task A_new_upload_is_a_new_version_and_the_older_one_stays_queryable()
    {
        var query = new ResultsQuery(Store);
        var name = $"followup-{Guid.NewGuid():N}.png";
        var first = new ScanIdentity(Modality.Ct, name, "\"0xA\"", DateTimeOffset.UtcNow.AddMinutes(-5));
        var second = new ScanIdentity(Modality.Ct, name, "\"0xB\"", DateTimeOffset.UtcNow);
        await SaveAsync(ScoredResults.For(first, 0.2), first, default);
        await SaveAsync(ScoredResults.For(second, 0.9), second, default);

        var latest = await query.GetLatestAsync(Modality.Ct, name, default);
        var history = await query.GetVersionsAsync(Modality.Ct, name, 10, default);

        Assert.Equal(("0xB", 0.9), (latest!.BlobVersion, latest.PCovid));
        Assert.Equal(["0xB", "0xA"], history.Select(v => v.BlobVersion));
        Assert.Equal(["vgg16", "resnet50"], latest.Models.Select(m => m.Name));
        Assert.NotEqual(history[0].ScanId, history[1].ScanId);
    }

    [Fact]
    public async Task Of_two_versions_uploaded_within_the_same_second_the_one_processed_last_is_the_latest()
    {
        var query = new ResultsQuery(Store);
        var name = $"same-second-{Guid.NewGuid():N}.png";
        var second = new DateTimeOffset(2026, 11, 26, 6, 30, 0, TimeSpan.Zero); // Last-Modified has whole seconds
        var earlier = new ScanIdentity(Modality.Chest, name, "\"0x1\"", second);

        // A later version whose row key sorts after the earlier one's (its version hash is larger), so that key order
        // alone would name the earlier version the latest.
        var later = Enumerable.Range(2, 100).Select(i => new ScanIdentity(Modality.Chest, name, $"\"0x{i}\"", second))
            .First(id => string.CompareOrdinal(id.VersionKey, earlier.VersionKey) > 0);
        await SaveAsync(ScoredResults.For(earlier, 0.2), earlier, default);
        await SaveAsync(ScoredResults.For(later, 0.9) with { ProcessedAt = DateTimeOffset.UtcNow.AddSeconds(1) }, later, default);

        var latest = await query.GetLatestAsync(Modality.Chest, name, default);
        var history = await query.GetVersionsAsync(Modality.Chest, name, 10, default);

        Assert.Equal(later.BlobVersion, latest!.BlobVersion);
        Assert.Equal([later.BlobVersion, earlier.BlobVersion], history.Select(v => v.BlobVersion));
    }

    [Fact]
    public async Task A_version_recorded_as_failed_after_it_was_scored_answers_failed_without_the_earlier_model_scores()
    {
        // Scored and saved, then its message could not be sent on any retry: the final record is a failure.
        var id = new ScanIdentity(Modality.Ct, $"failed-after-scoring-{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        await SaveAsync(ScoredResults.For(id, 0.9), id, default);
        var failed = ScoredResults.For(id, 0.9) with { Status = ScanStatus.Failed, Reason = "every retry failed", Verdict = null, PCovid = null, Models = [] };
        await SaveAsync(failed, id, default);

        var latest = await new ResultsQuery(Store).GetLatestAsync(Modality.Ct, id.BlobName, default);

        Assert.Equal((ScanStatus.Failed, null), (latest!.Status, latest.PCovid));
        Assert.Empty(latest.Models);
    }

    [Fact]
    public async Task A_version_scored_again_after_a_model_left_the_manifest_answers_only_the_models_that_scored_it_last()
    {
        var id = new ScanIdentity(Modality.Chest, $"rescored-{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        await SaveAsync(ScoredResults.For(id, 0.9), id, default);
        var rescored = ScoredResults.For(id, 0.3) with { Models = [new ModelScore("vgg16", "2", 0.3, Verdicts.For(0.3, 0.5))], ProcessedAt = DateTimeOffset.UtcNow.AddSeconds(1) };
        await SaveAsync(rescored, id, default);

        var latest = await new ResultsQuery(Store).GetLatestAsync(Modality.Chest, id.BlobName, default);

        Assert.Equal(0.3, latest!.PCovid);
        Assert.Equal([("vgg16", "2")], latest.Models.Select(m => (m.Name, m.Version)));
    }

    [Fact]
    public async Task Recorded_since_lists_the_modalitys_versions_uploaded_from_that_time_whose_recording_is_complete()
    {
        var since = DateTimeOffset.UtcNow.AddYears(2).AddTicks(-(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerSecond));
        ScanIdentity At(Modality modality, string name, TimeSpan offset) => new(modality, $"{name}-{Guid.NewGuid():N}.png", "\"0x1\"", since + offset);
        var atTheTime = At(Modality.Chest, "at", TimeSpan.Zero);
        var later = At(Modality.Chest, "later", TimeSpan.FromMinutes(3));
        var before = At(Modality.Chest, "before", TimeSpan.FromSeconds(-1));
        var otherModality = At(Modality.Ct, "ct", TimeSpan.FromMinutes(1));
        var savedNotListed = At(Modality.Chest, "unannounced", TimeSpan.FromMinutes(2));
        foreach (var id in new[] { atTheTime, later, before, otherModality })
        {
            await SaveAsync(ScoredResults.For(id, 0.3), id, default);
        }

        await Store.SaveAsync(ScoredResults.For(savedNotListed, 0.3), savedNotListed, default); // its host died before the message

        var recorded = await Store.RecordedSinceAsync(Modality.Chest, since, default);

        Assert.Equal((true, true, 2), (recorded.Contains(atTheTime), recorded.Contains(later), recorded.Count));
        Assert.False(recorded.Contains(savedNotListed), "saved but not announced: not complete");
        Assert.Equal((true, true, false), (recorded.LeaveAlone(before), recorded.LeaveAlone(later), recorded.LeaveAlone(savedNotListed)));
    }

    [Fact]
    public async Task No_result_for_an_unknown_blob()
    {
        Assert.Null(await new ResultsQuery(Store).GetLatestAsync(Modality.Chest, "never-uploaded.png", default));
    }

    [Fact]
    public async Task Recent_results_page_newest_first_with_a_continuation_token()
    {
        var query = new ResultsQuery(Store);
        var start = DateTimeOffset.UtcNow.AddYears(1); // later than any other test's rows, so they come first
        for (var i = 0; i < 3; i++)
        {
            var id = new ScanIdentity(Modality.Chest, $"paging-{i}.png", $"\"0x{i}\"", start.AddSeconds(i));
            await SaveAsync(ScoredResults.For(id, 0.1 * i), id, default);
        }

        var page1 = await query.ListRecentAsync(Modality.Chest, 2, null, default);
        var page2 = await query.ListRecentAsync(Modality.Chest, 2, page1.ContinuationToken, default);

        Assert.Equal(["paging-2.png", "paging-1.png"], page1.Items.Select(r => r.BlobName));
        Assert.NotNull(page1.ContinuationToken);
        Assert.Equal("paging-0.png", page2.Items[0].BlobName);
        Assert.All(page1.Items.Concat(page2.Items), r => Assert.Equal("chest", r.Modality));
    }
}
