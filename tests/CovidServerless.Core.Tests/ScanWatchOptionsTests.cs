using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Tests;

public class ScanWatchOptionsTests
{
    [Theory]
    [InlineData(2, 2000)]
    [InlineData(3, 4000)]
    [InlineData(5, 16000)]
    public void Retries_wait_the_configured_delay_doubled_for_each_later_attempt(int attempt, int expectedMilliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), new ScanWatchOptions { RetryDelayMilliseconds = 2000 }.RetryDelayBefore(attempt));

    [Fact]
    public void The_wait_stops_growing_at_an_hour_for_the_largest_settings_allowed()
    {
        // 600 s doubled 98 times would be past what a timer can wait for, and the retry would never come.
        var options = new ScanWatchOptions { RetryDelayMilliseconds = 600_000, MaxAttempts = 100 };

        Assert.Equal(TimeSpan.FromHours(1), options.RetryDelayBefore(options.MaxAttempts));
        Assert.Equal(TimeSpan.FromMinutes(40), options.RetryDelayBefore(4));
    }

    [Fact]
    public void After_listing_a_small_container_the_next_listing_begins_one_poll_interval_after_it_began() =>
        Assert.Equal(TimeSpan.FromMilliseconds(950), new ScanWatchOptions { PollMilliseconds = 1000 }.WaitAfterListing(blobs: 150, took: TimeSpan.FromMilliseconds(50)));

    [Fact]
    public void A_large_container_is_listed_less_often_so_that_no_more_blobs_are_listed_per_second_than_allowed()
    {
        // 6,000 blobs took about 0.7 s to list on Azurite: at the default 1,000 a second, listed every 6 s, not every one.
        var options = new ScanWatchOptions { PollMilliseconds = 1000 };

        Assert.Equal(1000, options.MaxBlobsListedPerSecond);
        Assert.Equal(TimeSpan.FromMilliseconds(5300), options.WaitAfterListing(blobs: 6000, took: TimeSpan.FromMilliseconds(700)));
        Assert.Equal(TimeSpan.FromMilliseconds(2300), new ScanWatchOptions { MaxBlobsListedPerSecond = 2000 }.WaitAfterListing(6000, TimeSpan.FromMilliseconds(700)));
    }

    [Fact]
    public void A_listing_that_took_longer_than_its_interval_is_followed_at_once() =>
        Assert.Equal(TimeSpan.Zero, new ScanWatchOptions { PollMilliseconds = 1000 }.WaitAfterListing(blobs: 500, took: TimeSpan.FromMilliseconds(1500)));

    [Fact]
    public void By_default_a_batch_s_worth_of_scans_is_ingested_at_once_when_scans_are_batched_here_or_on_the_worker()
    {
        var scoring = new ScoringOptions { MaxBatchSize = 12 };

        Assert.Equal(12, new ScanWatchOptions().ScansIngestedAtOnce(scoring, new ModelOptions()));
        Assert.Equal(12, new ScanWatchOptions().ScansIngestedAtOnce(new ScoringOptions { MaxBatchSize = 12, BatchInProcess = false, Mode = ScoringMode.Remote }, new ModelOptions()));
    }

    [Fact]
    public void Unbatched_scoring_ingests_one_scan_more_than_it_scores_at_once_so_that_downloads_overlap_with_scoring() =>
        Assert.Equal(4, new ScanWatchOptions().ScansIngestedAtOnce(new ScoringOptions { BatchInProcess = false }, new ModelOptions { MaxConcurrentScans = 3 }));

    [Fact]
    public void A_configured_concurrency_overrides_the_default() =>
        Assert.Equal(5, new ScanWatchOptions { Concurrency = 5 }.ScansIngestedAtOnce(new ScoringOptions(), new ModelOptions()));
}
