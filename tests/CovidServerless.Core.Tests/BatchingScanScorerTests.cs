using System.Collections.Concurrent;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

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
        var time = new FakeTimeProvider();
        await using var batching = Batching(catalog, new ScoringOptions { MaxBatchSize = 8 }, sizes, batchesAtOnce, time);
        var images = Enumerable.Range(0, 8).Select(i => TestImages.Uniform((byte)(30 * i), 64, 64)).ToList();

        // ScoreAsync queues its scan before it first awaits, so every scan is queued before time moves: no window
        // closes on a batch early, however slow the machine.
        var scoring = Task.WhenAll(images.Select(image => batching.ScoreAsync(Modality.Ct, image, default)).ToList());
        var batched = await UntilDoneAsync(scoring, time);

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
        var sizes = new ConcurrentBag<int>();
        // Time stands still, so every batch after the first waits until it is full.
        await using var batching = Batching(catalog, new ScoringOptions { MaxBatchSize = 8 }, sizes, time: new FakeTimeProvider());
        var images = Enumerable.Range(0, 8).Select(i => TestImages.Uniform((byte)(25 * i), 64, 64)).ToList();
        using var stopWaiting = new CancellationTokenSource();
        // So that the abandoned scan, coming right after it, waits in a batch instead of running at once.
        await batching.ScoreAsync(Modality.Chest, images[0], default).WaitAsync(Patience);

        var abandoned = batching.ScoreAsync(Modality.Chest, images[0], stopWaiting.Token);
        await stopWaiting.CancelAsync();
        var sameBatch = await Task.WhenAll(images.Skip(1).Select(image => batching.ScoreAsync(Modality.Chest, image, default))).WaitAsync(Patience);
        // Later scans reuse the pooled tensors of the earlier ones, the abandoned scan's included.
        var laterBatch = await Task.WhenAll(images.AsEnumerable().Reverse().Select(image => batching.ScoreAsync(Modality.Chest, image, default))).WaitAsync(Patience);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await AssertEachGetsItsAnswerAloneAsync(single, Modality.Chest, images[1..], sameBatch);
        await AssertEachGetsItsAnswerAloneAsync(single, Modality.Chest, [.. images.AsEnumerable().Reverse()], laterBatch);
        // The abandoned scan filled its batch's eighth place but was dropped before the batch ran.
        Assert.Equal([1, 7, 8], sizes.Order());
    }

    [Fact]
    public async Task A_scan_whose_caller_left_before_its_batch_ran_is_dropped_from_the_batch_unscored()
    {
        var time = new FakeTimeProvider();
        using var scorer = new ScorerUnderTest(time);
        await scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(90), default).WaitAsync(Patience);
        using var callerLeaves = new CancellationTokenSource();

        // Both come within the first scan's window, so they wait for companions; time stands still until the test
        // moves it, so the caller leaves while the batch window is still open.
        var left = scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(120), callerLeaves.Token);
        var stays = scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(150), default);
        await callerLeaves.CancelAsync();
        var score = await UntilDoneAsync(stays, time);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left);
        Assert.Equal(4, score.Models.Count);
        // Had the batch scored both, as it did before, the sizes would be 1 and 2 (A_scan_that_comes_within_the_window_...).
        Assert.Equal([1, 1], scorer.Sizes);
        Assert.Equal(0, scorer.Batching.Admitted);
    }

    [Fact]
    public async Task A_scan_that_comes_after_a_quiet_spell_runs_at_once_rather_than_after_the_batch_window()
    {
        var time = new FakeTimeProvider();
        using var scorer = new ScorerUnderTest(time);

        // Time only moves when the test moves it: a scan that waited for its window would never be scored.
        var first = await scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(90), default).WaitAsync(Patience);
        var otherModality = await scorer.Batching.ScoreAsync(Modality.Ct, TestImages.Uniform(90), default).WaitAsync(Patience);
        time.Advance(Window);
        var afterTheWindow = await scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(120), default).WaitAsync(Patience);

        Assert.All([first, otherModality, afterTheWindow], score => Assert.Equal(4, score.Models.Count));
        Assert.Equal([1, 1, 1], scorer.Sizes);
    }

    [Fact]
    public async Task A_scan_that_comes_within_the_window_of_the_previous_one_waits_for_companions()
    {
        var time = new FakeTimeProvider();
        using var scorer = new ScorerUnderTest(time);
        await scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(90), default).WaitAsync(Patience);

        // Had the second run at once, the third (within its window) would have run alone after it: sizes 1, 1, 1.
        var second = scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(120), default);
        var third = scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(150), default);
        await UntilDoneAsync(Task.WhenAll(second, third), time);

        Assert.Equal([1, 2], scorer.Sizes);
    }

    [Fact]
    public async Task A_scan_that_comes_while_a_batch_is_scored_waits_for_companions()
    {
        var time = new FakeTimeProvider();
        using var chestBatchScored = new ManualResetEventSlim();
        using var releaseChestBatch = new ManualResetEventSlim();
        using var scorer = new ScorerUnderTest(time); // disposed first: no batch outlives the events its handler uses
        scorer.Batching.BatchScored += (modality, _) =>
        {
            if (modality == Modality.Chest)
            {
                chestBatchScored.Set();
                releaseChestBatch.Wait(Patience); // the chest batch stays in flight until the test lets it go
            }
        };

        var chest = scorer.Batching.ScoreAsync(Modality.Chest, TestImages.Uniform(90), default);
        Task<EnsembleScore[]> ct;
        try
        {
            Assert.True(chestBatchScored.Wait(Patience));
            // Its modality's first scan, then another within its window: had the first run at once, they would be
            // scored apart (sizes 1, 1, 1).
            ct = Task.WhenAll(
                scorer.Batching.ScoreAsync(Modality.Ct, TestImages.Uniform(90), default),
                scorer.Batching.ScoreAsync(Modality.Ct, TestImages.Uniform(140), default));
        }
        finally
        {
            releaseChestBatch.Set();
        }

        await chest.WaitAsync(Patience);
        await UntilDoneAsync(ct, time);

        Assert.Equal([1, 2], scorer.Sizes);
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

    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(new ScoringOptions().MaxBatchDelayMilliseconds);

    /// <summary>How long a test waits for what should happen at once (generous: the machine may be busy).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Running_out_of_memory_fails_the_batch_s_callers_and_turns_readiness_unhealthy_and_later_scans_still_get_answers()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        await using var batching = Batching(catalog, new ScoringOptions());
        var health = new BatchingScorerHealthCheck(batching);
        var throwOnce = 1;
        batching.BatchScored += (_, _) =>
        {
            if (Interlocked.Exchange(ref throwOnce, 0) == 1)
            {
#pragma warning disable CA2201 // the runtime throws it for real; the test stands in for that
                throw new OutOfMemoryException("simulated");
#pragma warning restore CA2201
            }
        };
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        var failed = batching.ScoreAsync(Modality.Chest, TestImages.Uniform(40), default);

        await Assert.ThrowsAsync<OutOfMemoryException>(() => failed.WaitAsync(Patience));
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);
        var later = await batching.ScoreAsync(Modality.Chest, TestImages.Uniform(40), default).WaitAsync(Patience);
        Assert.Equal(4, later.Models.Count);
    }

    /// <summary>
    /// Moves time on by a batch window at a time until <paramref name="scoring"/> completes: a batch loop may open its
    /// window after an earlier move, so one move is not always enough.
    /// </summary>
    private static async Task<T> UntilDoneAsync<T>(Task<T> scoring, FakeTimeProvider time)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (!scoring.IsCompleted)
        {
            time.Advance(Window);
            await Task.WhenAny(scoring, Task.Delay(10, patience.Token));
            patience.Token.ThrowIfCancellationRequested();
        }

        return await scoring;
    }

    /// <summary>A batching scorer over <paramref name="catalog"/>, adding each model run's batch size to <paramref name="sizes"/>.</summary>
    private static BatchingScanScorer Batching(
        ModelCatalog catalog, ScoringOptions scoring, IProducerConsumerCollection<int>? sizes = null, int batchesAtOnce = 1, TimeProvider? time = null)
    {
        var batching = new BatchingScanScorer(
            TestCatalogs.Runner(catalog, batchesAtOnce), Options.Create(scoring), Options.Create(new ModelOptions { MaxConcurrentScans = batchesAtOnce }), time ?? TimeProvider.System);
        batching.BatchScored += (_, size) => sizes?.TryAdd(size);
        return batching;
    }

    /// <summary>The standard ensembles behind a batching scorer with default options and one batch loop per modality on <paramref name="time"/>, with its batch sizes in order.</summary>
    private sealed class ScorerUnderTest : IDisposable
    {
        private readonly ModelFolder folder = ModelFolder.WithStandardEnsembles();
        private readonly ModelCatalog catalog;
        private readonly ConcurrentQueue<int> sizes = new();

        public ScorerUnderTest(TimeProvider time)
        {
            catalog = TestCatalogs.Load(folder.ManifestPath);
            Batching = BatchingScanScorerTests.Batching(catalog, new ScoringOptions(), sizes, time: time);
        }

        public BatchingScanScorer Batching { get; }

        public IReadOnlyList<int> Sizes => [.. sizes];

        public void Dispose()
        {
            Batching.Dispose();
            catalog.Dispose();
            folder.Dispose();
        }
    }

    /// <summary>Each scan's batched score equals the one it gets scored alone, the vote and every model's.</summary>
    private static async Task AssertEachGetsItsAnswerAloneAsync(
        TestCatalogs.OwnedScorer single, Modality modality, List<byte[]> images, EnsembleScore[] batched)
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
