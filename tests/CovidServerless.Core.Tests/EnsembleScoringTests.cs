using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

public class EnsembleScoringTests
{
    private static double Expected(string modality, int member, double meanInput)
    {
        var (weights, biases) = ModelFolder.StandardMembers[modality];
        return TinyOnnxModels.ExpectedPCovid(weights[member], biases[member], meanInput);
    }

    [Theory]
    [InlineData(Modality.Chest, "chest")]
    [InlineData(Modality.Ct, "ct")]
    public async Task Each_modality_is_scored_by_its_own_four_models_and_their_mean(Modality modality, string name)
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(modality, TestImages.Uniform(204), CancellationToken.None);

        var mean = 204 / 255.0;
        Assert.Equal(ModelFolder.ArchitectureNames, score.Models.Select(m => m.Name));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(Expected(name, i, mean), score.Models[i].PCovid, tolerance: 1e-3); // ReduceMean sums 150k floats
        }

        Assert.Equal(Enumerable.Range(0, 4).Average(i => Expected(name, i, mean)), score.PCovid, tolerance: 1e-3);
        Assert.Equal(score.PCovid >= 0.5 ? Verdicts.Covid : Verdicts.NonCovid, score.Verdict);
    }

    [Fact]
    public async Task Chest_and_ct_give_opposite_verdicts_for_a_bright_scan_because_their_models_differ()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);
        var bright = TestImages.Uniform(250);

        var chest = await scorer.ScoreAsync(Modality.Chest, bright, CancellationToken.None);
        var ct = await scorer.ScoreAsync(Modality.Ct, bright, CancellationToken.None);

        Assert.Equal(Verdicts.Covid, chest.Verdict);
        Assert.Equal(Verdicts.NonCovid, ct.Verdict);
    }

    [Fact]
    public async Task The_threshold_comes_from_the_manifest()
    {
        using var folder = new ModelFolder().AddModality("chest", 0.9, ("vgg16", 0f, 0f)).Write(); // pCovid = 0.5
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(10), CancellationToken.None);

        Assert.Equal((0.5, 0.9, Verdicts.NonCovid), (Math.Round(score.PCovid, 4), score.Threshold, score.Verdict));
    }

    [Fact]
    public async Task Logit_outputs_and_another_covid_index_are_honoured()
    {
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile(
            "ct", "custom", TinyOnnxModels.MeanIntensity(2f, -1f, kind: OutputKind.Logits, outputName: "logits"),
            output: new ModelOutputSpec { Name = "logits", Kind = OutputKind.Logits, CovidIndex = 1 });
        folder.SetModality("ct", new ModalityManifest { Models = [entry] }).Write();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(Modality.Ct, TestImages.Uniform(255), CancellationToken.None);

        Assert.Equal(1 - TinyOnnxModels.ExpectedPCovid(2, -1, 1.0), score.PCovid, tolerance: 1e-4);
    }

    [Fact]
    public async Task Members_with_the_same_input_share_one_tensor_and_a_member_with_its_own_input_gets_its_own()
    {
        using var folder = new ModelFolder();
        var doubled = new ModelInputSpec { Scale = 2f / 255f };
        folder.SetModality("chest", new ModalityManifest
        {
            Models =
            [
                folder.AddModelFile("chest", "a", TinyOnnxModels.MeanIntensity(1f, 0f)),
                folder.AddModelFile("chest", "b", TinyOnnxModels.MeanIntensity(2f, 0f)),
                folder.AddModelFile("chest", "c", TinyOnnxModels.MeanIntensity(1f, 0f, doubled), input: doubled),
            ],
        }).Write();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), CancellationToken.None);

        Assert.Equal([0, 0, 1], catalog.For(Modality.Chest).InputOfModel);
        Assert.Equal(TinyOnnxModels.ExpectedPCovid(1, 0, 100 / 255.0), score.Models[0].PCovid, tolerance: 1e-4);
        Assert.Equal(TinyOnnxModels.ExpectedPCovid(1, 0, 200 / 255.0), score.Models[2].PCovid, tolerance: 1e-4);
    }

    [Fact]
    public void A_prepared_scans_pooled_tensors_hold_no_pixels_once_it_is_disposed()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var runner = TestCatalogs.Runner(catalog);
        var prepared = runner.Prepare(Modality.Chest, TestImages.Uniform(200));
        var tensors = Enumerable.Range(0, catalog.For(Modality.Chest).Inputs.Count).Select(prepared.TensorArray).ToList();
        Assert.All(tensors, tensor => Assert.Contains(tensor, value => value != 0));

        prepared.Dispose();

        Assert.All(tensors, tensor => Assert.All(tensor, value => Assert.Equal(0f, value)));
    }

    [Fact]
    public async Task A_batch_mixing_modalities_is_refused()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var runner = TestCatalogs.Runner(catalog);
        using var chest = runner.Prepare(Modality.Chest, TestImages.Uniform(30));
        using var ct = runner.Prepare(Modality.Ct, TestImages.Uniform(30));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => runner.ScoreAsync([chest, ct]));

        Assert.Contains("same ensemble", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_scan_is_rejected_not_scored()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        await Assert.ThrowsAsync<ScanRejectedException>(() => scorer.ScoreAsync(Modality.Chest, "hello"u8.ToArray(), CancellationToken.None));
    }

    [Fact]
    public async Task Batched_scoring_equals_one_at_a_time()
    {
        using var two = new TwoChestScans(slots: 1);

        var batch = await two.Runner.ScoreAsync([two.A, two.B]);
        var single = await two.Runner.ScoreAsync([two.B]);

        Assert.Equal(single[0].PCovid, batch[1].PCovid, tolerance: 1e-6);
        Assert.NotEqual(batch[0].PCovid, batch[1].PCovid, 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Model_runs_side_by_side_give_the_scores_of_runs_one_at_a_time_and_give_every_slot_back(int slots)
    {
        using var oneAtATime = new TwoChestScans(slots: 1);
        using var sideBySide = new TwoChestScans(slots);

        var expected = await oneAtATime.Runner.ScoreAsync([oneAtATime.A, oneAtATime.B]);
        var actual = await sideBySide.Runner.ScoreAsync([sideBySide.A, sideBySide.B]);
        var again = await sideBySide.Runner.ScoreAsync([sideBySide.A, sideBySide.B]);

        Assert.Equal(
            expected.SelectMany(s => s.Models.Select(m => (m.Name, m.PCovid))),
            actual.SelectMany(s => s.Models.Select(m => (m.Name, m.PCovid))));
        Assert.Equal(
            actual.SelectMany(s => s.Models.Select(m => m.PCovid)),
            again.SelectMany(s => s.Models.Select(m => m.PCovid)));
    }

    [Fact]
    public async Task Cancelled_before_a_slot_is_free_scoring_stops_and_the_runner_still_scores_afterwards()
    {
        using var two = new TwoChestScans(slots: 1);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => two.Runner.ScoreAsync([two.A], cancelled.Token));

        var score = await two.Runner.ScoreAsync([two.A]).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Single(score);
    }

    /// <summary>Two different chest scans prepared for the standard tiny chest ensemble, and a runner with that many slots.</summary>
    private sealed class TwoChestScans : IDisposable
    {
        private readonly ModelFolder folder = ModelFolder.WithStandardEnsembles();
        private readonly ModelCatalog catalog;

        public TwoChestScans(int slots)
        {
            catalog = TestCatalogs.Load(folder.ManifestPath, slots);
            Runner = TestCatalogs.Runner(catalog, slots);
            A = Runner.Prepare(Modality.Chest, TestImages.Uniform(30));
            B = Runner.Prepare(Modality.Chest, TestImages.Noise(100, 80, SKEncodedImageFormat.Png));
        }

        public EnsembleRunner Runner { get; }

        public PreparedScan A { get; }

        public PreparedScan B { get; }

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
            Runner.Dispose();
            catalog.Dispose();
            folder.Dispose();
        }
    }
}
