using System.Collections.Concurrent;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

public class BatchingScanScorerTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Concurrent_scans_share_batches_and_get_the_same_answers_as_one_at_a_time(int batchesAtOnce)
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath, batchesAtOnce);
        using var single = TestCatalogs.Scorer(catalog);
        var sizes = new ConcurrentBag<int>();
        await using var batching = Batching(catalog, new ScoringOptions { MaxBatchSize = 8, MaxBatchDelayMilliseconds = 100 }, sizes, batchesAtOnce);
        var images = Enumerable.Range(0, 8).Select(i => TestImages.Uniform((byte)(30 * i), 64, 64)).ToList();

        var batched = await Task.WhenAll(images.Select(image => batching.ScoreAsync(Modality.Ct, image, default)));

        await AssertEachGetsItsAnswerAloneAsync(single, Modality.Ct, images, batched);

        Assert.Equal(8, sizes.Sum());
        Assert.True(sizes.Max() > 1, "at least two scans shared a model run");
        Assert.All(sizes, size => Assert.InRange(size, 1, 8));
    }

    [Fact]
    public async Task A_caller_that_stops_waiting_spoils_neither_its_batch_nor_later_ones()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var single = TestCatalogs.Scorer(catalog);
        await using var batching = Batching(catalog, new ScoringOptions { MaxBatchSize = 8, MaxBatchDelayMilliseconds = 5_000 });
        var images = Enumerable.Range(0, 8).Select(i => TestImages.Uniform((byte)(25 * i), 64, 64)).ToList();
        using var stopWaiting = new CancellationTokenSource();
        // So that the abandoned scan, coming right after it, waits in a batch instead of running at once.
        await batching.ScoreAsync(Modality.Chest, images[0], default);

        var abandoned = batching.ScoreAsync(Modality.Chest, images[0], stopWaiting.Token);
        await stopWaiting.CancelAsync();
        var sameBatch = await Task.WhenAll(images.Skip(1).Select(image => batching.ScoreAsync(Modality.Chest, image, default)));
        // Later scans reuse the pooled tensors of the earlier ones, the abandoned scan's included.
        var laterBatch = await Task.WhenAll(images.AsEnumerable().Reverse().Select(image => batching.ScoreAsync(Modality.Chest, image, default)));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await AssertEachGetsItsAnswerAloneAsync(single, Modality.Chest, images[1..], sameBatch);
        await AssertEachGetsItsAnswerAloneAsync(single, Modality.Chest, [.. images.AsEnumerable().Reverse()], laterBatch);
    }

    [Fact]
    public async Task A_scan_that_comes_alone_runs_at_once_rather_than_after_the_batch_window()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        var sizes = new ConcurrentBag<int>();
        await using var batching = Batching(catalog, new ScoringOptions { MaxBatchSize = 8, MaxBatchDelayMilliseconds = 60_000 }, sizes);

        // Were the window kept, each would wait its minute out for companions that never come.
        var first = await batching.ScoreAsync(Modality.Chest, TestImages.Uniform(90), default).WaitAsync(TimeSpan.FromSeconds(20));
        var other = await batching.ScoreAsync(Modality.Ct, TestImages.Uniform(90), default).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(4, first.Models.Count);
        Assert.Equal(4, other.Models.Count);
        Assert.Equal([1, 1], sizes);
    }

    [Fact]
    public async Task A_bad_scan_is_rejected_at_once_without_holding_up_a_batch()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        await using var batching = Batching(catalog, new ScoringOptions());

        await Assert.ThrowsAsync<ScanRejectedException>(() => batching.ScoreAsync(Modality.Chest, new byte[] { 1, 2, 3 }, default));
        var good = await batching.ScoreAsync(Modality.Chest, TestImages.Uniform(200), default);

        Assert.Equal(4, good.Models.Count);
    }

    [Fact]
    public async Task A_batch_padded_to_its_largest_size_gives_each_scan_the_answer_it_gets_alone()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var single = TestCatalogs.Scorer(catalog);
        var sizes = new ConcurrentBag<int>();
        await using var padded = Batching(catalog, new ScoringOptions { MaxBatchSize = 8, MaxBatchDelayMilliseconds = 100, BatchPadding = BatchPadding.MaxBatchSize }, sizes);
        var images = Enumerable.Range(0, 3).Select(i => TestImages.Uniform((byte)(60 * i), 64, 64)).ToList();

        var scores = await Task.WhenAll(images.Select(image => padded.ScoreAsync(Modality.Chest, image, default)));

        await AssertEachGetsItsAnswerAloneAsync(single, Modality.Chest, images, scores);
        Assert.Equal(3, sizes.Sum());
    }

    [Fact]
    public async Task By_default_batches_scored_on_the_cpu_are_not_padded()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        await using var batching = Batching(catalog, new ScoringOptions());

        Assert.False(catalog.OnCuda);
        Assert.Equal(BatchPadding.None, batching.Padding);
    }

    [Theory]
    [InlineData(BatchPadding.MaxBatchSize, 3, 16, false, 16)]
    [InlineData(BatchPadding.MaxBatchSize, 16, 16, false, 16)]
    [InlineData(BatchPadding.None, 3, 16, false, 3)]
    [InlineData(BatchPadding.MaxBatchSize, 3, 16, true, 3)] // models of fixed batch sizes: their shape never changes
    public void A_batch_runs_as_the_padding_says(BatchPadding padding, int scans, int maxBatchSize, bool fixedBatchesOnly, int runSize) =>
        Assert.Equal(runSize, BatchingScanScorer.PaddedSize(scans, maxBatchSize, padding, fixedBatchesOnly));

    /// <summary>A batching scorer over <paramref name="catalog"/>, adding each model run's batch size to <paramref name="sizes"/>.</summary>
    private static BatchingScanScorer Batching(ModelCatalog catalog, ScoringOptions scoring, ConcurrentBag<int>? sizes = null, int batchesAtOnce = 1)
    {
        var batching = new BatchingScanScorer(
            catalog, new ScanDecoder(), Options.Create(scoring), Options.Create(new ModelOptions { MaxConcurrentScans = batchesAtOnce }));
        batching.BatchScored += (_, size) => sizes?.Add(size);
        return batching;
    }

    /// <summary>Each scan's batched score equals the one it gets scored alone, the vote and every model's.</summary>
    private static async Task AssertEachGetsItsAnswerAloneAsync(
        InProcessScanScorer single, Modality modality, List<byte[]> images, EnsembleScore[] batched)
    {
        Assert.Equal(images.Count, batched.Length);
        for (var i = 0; i < images.Count; i++)
        {
            var alone = await single.ScoreAsync(modality, images[i], default);
            Assert.Equal(alone.PCovid, batched[i].PCovid, tolerance: 1e-6);
            Assert.All(alone.Models.Zip(batched[i].Models), pair => Assert.Equal(pair.First.PCovid, pair.Second.PCovid, tolerance: 1e-6));
        }
    }
}
