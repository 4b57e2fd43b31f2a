using CovidServerless.Core.Evaluation;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;

namespace CovidServerless.Core.Tests;

/// <summary>The triage verdict that can abstain: the soft vote's band, member temperatures, and the manifest's limits.</summary>
public class AbstainingVerdictTests
{
    private static ModelScore[] Members(params double[] pCovid) =>
        [.. pCovid.Select((p, i) => new ModelScore($"m{i}", "1", p, Verdicts.For(p, 0.5)))];

    private static EnsembleRule Band(double threshold, double margin, double maxSpread = 1) =>
        new() { Threshold = threshold, Abstain = new AbstainRule { Margin = margin, MaxSpread = maxSpread } };

    [Theory]
    [InlineData(0.65)] // above the threshold, inside the band
    [InlineData(0.55)] // below it, inside the band
    [InlineData(0.60)] // on it
    public void A_mean_within_the_margin_of_the_threshold_is_indeterminate(double mean)
    {
        var score = EnsembleScore.SoftVote(Modality.Chest, Members(mean, mean), Band(0.6, 0.1));

        Assert.Equal(Verdicts.Indeterminate, score.Verdict);
        Assert.Equal((mean, 0.6), (score.PCovid, score.Threshold)); // the figures are still reported
    }

    [Theory]
    [InlineData(0.80, Verdicts.Covid)]
    [InlineData(0.40, Verdicts.NonCovid)]
    public void A_mean_outside_the_margin_keeps_its_confident_verdict(double mean, string expected)
    {
        var score = EnsembleScore.SoftVote(Modality.Chest, Members(mean, mean), Band(0.6, 0.1));

        Assert.Equal(expected, score.Verdict);
    }

    [Fact]
    public void A_mean_exactly_the_margin_away_is_confident_because_the_band_is_open()
    {
        // 0.5, 0.25 and 0.75 are exact in binary, so this is the boundary itself.
        Assert.Equal(Verdicts.Covid, EnsembleScore.SoftVote(Modality.Ct, Members(0.75), Band(0.5, 0.25)).Verdict);
        Assert.Equal(Verdicts.NonCovid, EnsembleScore.SoftVote(Modality.Ct, Members(0.25), Band(0.5, 0.25)).Verdict);
    }

    [Fact]
    public void Members_that_disagree_by_more_than_the_max_spread_make_a_confident_mean_indeterminate()
    {
        var members = Members(0.9, 0.9, 0.9, 0.3); // mean 0.75, far from 0.5; spread 0.6

        Assert.Equal(Verdicts.Indeterminate, EnsembleScore.SoftVote(Modality.Chest, members, Band(0.5, 0.1, maxSpread: 0.5)).Verdict);
        Assert.Equal(Verdicts.Covid, EnsembleScore.SoftVote(Modality.Chest, members, Band(0.5, 0.1, maxSpread: 0.7)).Verdict);
    }

    [Theory]
    [InlineData(0.5, 0.5)] // on the threshold
    [InlineData(0.0, 1.0)] // total disagreement
    [InlineData(0.49, 0.51)]
    public void Without_an_abstain_rule_the_verdict_is_never_indeterminate(double a, double b)
    {
        var rule = new EnsembleRule { Threshold = 0.5 };

        var score = EnsembleScore.SoftVote(Modality.Chest, Members(a, b), rule);

        Assert.Equal(Verdicts.For((a + b) / 2, 0.5), score.Verdict);
        Assert.Equal(score.Verdict, EnsembleScore.SoftVote(Modality.Chest, Members(a, b), 0.5).Verdict); // the threshold-only overload agrees
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    [InlineData(0.77)]
    [InlineData(0.99)]
    public void A_temperature_of_one_leaves_a_probability_unchanged(double p) =>
        Assert.Equal(p, new ModelCalibration { Temperature = 1 }.Apply(p), 12);

    [Fact]
    public void A_temperature_above_one_pulls_probabilities_toward_one_half_and_below_one_pushes_them_away()
    {
        // sigmoid(logit(0.9) / 2) = sigmoid(ln 3) = 0.75; sigmoid(logit(0.75) / 0.5) = sigmoid(ln 9) = 0.9.
        Assert.Equal(0.75, new ModelCalibration { Temperature = 2 }.Apply(0.9), 12);
        Assert.Equal(0.25, new ModelCalibration { Temperature = 2 }.Apply(0.1), 12);
        Assert.Equal(0.5, new ModelCalibration { Temperature = 2 }.Apply(0.5), 12);
        Assert.Equal(0.9, new ModelCalibration { Temperature = 0.5 }.Apply(0.75), 12);
        foreach (var p in new[] { 0.02, 0.2, 0.45, 0.55, 0.8, 0.98 })
        {
            var softened = new ModelCalibration { Temperature = 3 }.Apply(p);
            Assert.True(Math.Abs(softened - 0.5) < Math.Abs(p - 0.5), $"T=3 moved {p} to {softened}, not toward 0.5");
            Assert.Equal(p > 0.5, softened > 0.5); // never across the middle
        }
    }

    [Theory]
    [InlineData(0.25)]
    [InlineData(1.0)]
    [InlineData(4.0)]
    public void Calibration_keeps_the_order_of_scores_so_it_cannot_change_the_auc(double temperature)
    {
        var calibration = new ModelCalibration { Temperature = temperature };
        var grid = Enumerable.Range(1, 999).Select(i => i / 1000.0).ToList();

        var calibrated = grid.Select(calibration.Apply).ToList();

        Assert.All(calibrated.Zip(calibrated.Skip(1)), pair => Assert.True(pair.Second > pair.First, $"{pair.First} then {pair.Second}"));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(0.5)]
    public void A_saturated_probability_of_one_or_zero_stays_finite_and_inside_the_unit_interval(double temperature)
    {
        var calibration = new ModelCalibration { Temperature = temperature };

        var (high, low) = (calibration.Apply(1.0), calibration.Apply(0.0));

        Assert.True(double.IsFinite(high) && high is > 0.5 and <= 1, $"Apply(1) = {high}");
        Assert.True(double.IsFinite(low) && low is >= 0 and < 0.5, $"Apply(0) = {low}");
        Assert.Equal(1, high + low, 9); // symmetric around 0.5
    }

    [Fact]
    public async Task The_runner_calibrates_each_member_before_the_vote_and_the_band_applies_to_the_calibrated_mean()
    {
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile("chest", "vgg16", TinyOnnxModels.MeanIntensity(0f, 2f)); // pCovid sigmoid(2) = 0.881 for any scan
        folder.SetModality("chest", new ModalityManifest
        {
            Ensemble = Band(0.5, 0.3),
            Models = [entry with { Calibration = new ModelCalibration { Temperature = 2 } }], // sigmoid(1) = 0.731, within 0.3 of 0.5
        }).Write();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), CancellationToken.None);

        var calibrated = 1 / (1 + Math.Exp(-1));
        Assert.Equal(calibrated, score.Models[0].PCovid, 5);
        Assert.Equal(Verdicts.Covid, score.Models[0].Verdict); // a member's own verdict never abstains
        Assert.Equal(calibrated, score.PCovid, 5);
        Assert.Equal(Verdicts.Indeterminate, score.Verdict); // uncalibrated, 0.881 would be a confident covid
    }

    [Theory]
    [InlineData(1.0, 0.0)]
    [InlineData(0.63, 0.07)]
    [InlineData(1.8, -1.4)]
    public void Inverting_a_calibration_gives_back_the_probability_it_was_applied_to(double temperature, double bias)
    {
        var calibration = new ModelCalibration { Temperature = temperature, Bias = bias };

        Assert.All([0.01, 0.163, 0.5, 0.9, 0.999], p => Assert.Equal(p, calibration.Invert(calibration.Apply(p)), 9));
    }

    [Fact]
    public async Task Members_that_all_give_the_same_pCovid_each_get_the_ensembles_verdict_when_the_vote_is_calibrated()
    {
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile("chest", "vgg16", TinyOnnxModels.MeanIntensity(0f, 2f)); // member pCovid sigmoid(1) = 0.731 after T 2
        var member = entry with { Calibration = new ModelCalibration { Temperature = 2 } };
        folder.SetModality("chest", new ModalityManifest
        {
            // The vote's calibration moves 0.731 to sigmoid(1 - 1.5) = 0.378: below the threshold, though 0.731 is above it.
            Ensemble = new EnsembleRule { Threshold = 0.5, Calibration = new ModelCalibration { Bias = -1.5 } },
            Models = [member, member with { Name = "resnet50" }],
        }).Write();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), CancellationToken.None);

        Assert.Equal(Verdicts.NonCovid, score.Verdict);
        Assert.All(score.Models, m => Assert.Equal(1 / (1 + Math.Exp(-1)), m.PCovid, 5));
        Assert.All(score.Models, m => Assert.Equal(Verdicts.NonCovid, m.Verdict));
    }

    [Theory]
    [InlineData(0.0, "threshold 0 is not inside (0, 1)")]
    [InlineData(1.0, "threshold 1 is not inside (0, 1)")]
    [InlineData(1.5, "threshold 1.5 is not inside (0, 1)")]
    [InlineData(-0.2, "threshold -0.2 is not inside (0, 1)")]
    public void A_threshold_outside_the_open_unit_interval_is_refused_naming_the_modality_and_the_value(double threshold, string problem)
    {
        using var folder = ModelFolder.WithStandardEnsembles().Change("ct", m => m with { Ensemble = m.Ensemble with { Threshold = threshold } });

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.False(catalog.IsReady);
        Assert.Contains($"Modality ct: {problem}.", catalog.Problems);
        Assert.Contains(problem, Assert.Throws<ModelsUnavailableException>(() => catalog.For(Modality.Ct)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.01, 1.0)]
    [InlineData(0.5, 1.0)] // a margin of 0.5 around a threshold inside (0, 1) would abstain on nearly everything
    [InlineData(0.1, 0.0)]
    [InlineData(0.1, 1.5)]
    public void An_abstain_margin_or_max_spread_out_of_range_is_refused_with_both_values(double margin, double maxSpread)
    {
        using var folder = ModelFolder.WithStandardEnsembles().Change(
            "chest", m => m with { Ensemble = m.Ensemble with { Abstain = new AbstainRule { Margin = margin, MaxSpread = maxSpread } } });

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.False(catalog.IsReady);
        var problem = Assert.Single(catalog.Problems);
        Assert.Equal(
            $"Modality chest: abstain rule needs margin in [0, 0.5) and maxSpread in (0, 1], got {margin} and {maxSpread}.", problem);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(100.0)]
    public void A_temperature_that_is_not_positive_or_absurdly_large_is_refused_naming_the_model(double temperature)
    {
        using var folder = ModelFolder.WithStandardEnsembles().Change(
            "chest", m => m with { Models = [.. m.Models.Select(e => e.Name == "resnet50" ? e with { Calibration = new ModelCalibration { Temperature = temperature } } : e)] });

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.False(catalog.IsReady);
        Assert.Equal($"Modality chest: model resnet50 has temperature {temperature}, outside (0, 100).", Assert.Single(catalog.Problems));
    }

    [Fact]
    public void A_manifest_with_a_band_and_temperatures_in_range_loads()
    {
        using var folder = ModelFolder.WithAbstainingChest(0.2).Change(
            "ct", m => m with { Models = [.. m.Models.Select(e => e with { Calibration = new ModelCalibration { Temperature = 1.7 } })] });

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.True(catalog.IsReady, string.Join("; ", catalog.Problems));
        Assert.Equal(0.2, catalog.RuleFor(Modality.Chest)!.Abstain!.Margin);
        Assert.Null(catalog.RuleFor(Modality.Ct)!.Abstain);
    }

    [Fact]
    public void Triage_figures_count_only_confident_verdicts_and_coverage_is_their_share()
    {
        bool[] labels = [true, true, true, false, false, false];
        string[] verdicts = [Verdicts.Covid, Verdicts.Indeterminate, Verdicts.NonCovid, Verdicts.NonCovid, Verdicts.Indeterminate, Verdicts.NonCovid];

        var triage = TriageMetrics.Compute(labels, verdicts);

        Assert.Equal((6, 4, 1, 0, 2, 1), (triage.Scans, triage.Confident, triage.Tp, triage.Fp, triage.Tn, triage.Fn));
        Assert.Equal(4 / 6.0, triage.Coverage, 12);
        Assert.Equal(3 / 4.0, triage.Accuracy, 12);
        Assert.Equal(1 / 2.0, triage.Sensitivity, 12);
        Assert.Equal(1.0, triage.Specificity, 12);
    }

    [Fact]
    public void Triage_figures_with_no_confident_verdict_are_undefined_not_zero()
    {
        var triage = TriageMetrics.Compute([true, false], [Verdicts.Indeterminate, Verdicts.Indeterminate]);

        Assert.Equal((0, 0.0), (triage.Confident, triage.Coverage));
        Assert.True(double.IsNaN(triage.Accuracy) && double.IsNaN(triage.Sensitivity) && double.IsNaN(triage.Specificity));
    }

    [Fact]
    public void Triage_figures_refuse_a_verdict_they_do_not_know()
    {
        var ex = Assert.Throws<ArgumentException>(() => TriageMetrics.Compute([true], ["maybe"]));

        Assert.Contains("Unknown verdict 'maybe'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Verdicts.Covid, true)]
    [InlineData(Verdicts.NonCovid, true)]
    [InlineData(Verdicts.Indeterminate, true)]
    [InlineData("Indeterminate", false)] // the contract's values are lower case
    [InlineData("", false)]
    [InlineData(null, false)]
    public void The_known_verdicts_are_covid_noncovid_and_indeterminate(string? verdict, bool known) =>
        Assert.Equal(known, Verdicts.IsKnown(verdict));
}
