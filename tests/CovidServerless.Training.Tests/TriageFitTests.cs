using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.Training.Evaluation;

namespace CovidServerless.Training.Tests;

/// <summary>Member calibrations, threshold and abstaining band fitted on out-of-fold scores, and their cross-fitted judgement.</summary>
public sealed class TriageFitTests
{
    [Fact]
    public void Platt_scaling_recovers_how_overconfident_and_how_biased_a_model_is()
    {
        // True log-odds z per scan, labels drawn from sigmoid(z); the model reports sigmoid(3 z + 1.5): three times too
        // sure and leaning to COVID, so z = logit / 3 - 0.5.
        var random = new Random(7);
        var labels = new List<bool>();
        var reported = new List<double>();
        for (var i = 0; i < 4000; i++)
        {
            var z = (random.NextDouble() * 6) - 3;
            labels.Add(random.NextDouble() < 1 / (1 + Math.Exp(-z)));
            reported.Add(1 / (1 + Math.Exp(-((3 * z) + 1.5))));
        }

        var calibration = TriageFit.FitCalibration(reported, labels);

        Assert.InRange(calibration.Temperature, 2.7, 3.3);
        Assert.InRange(calibration.Bias, -0.65, -0.35);
    }

    [Fact]
    public void Threshold_is_the_largest_that_reaches_the_target_sensitivity()
    {
        double[] scores = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.65, 0.55, 0.05];
        bool[] covid = [true, true, true, true, true, true, true, true, true, true, false, false, false];

        var threshold = TriageFit.ThresholdForSensitivity(scores, covid, 0.9);

        // Nine of ten COVID scores (down to 0.2) must be called: the threshold lies between 0.2 and the next lower score, 0.1.
        Assert.InRange(threshold, 0.1 + 1e-9, 0.2);
        Assert.Equal(9, scores.Where((s, i) => covid[i] && s >= threshold).Count());
    }

    [Fact]
    public void Band_keeps_the_coverage_floor_and_makes_confident_verdicts_no_less_accurate()
    {
        var random = new Random(3);
        var labels = Enumerable.Range(0, 600).Select(i => i % 3 == 0).ToArray();
        var ensemble = labels.Select(l => Math.Clamp((l ? 0.65 : 0.35) + ((random.NextDouble() - 0.5) * 0.7), 0, 1)).ToArray();
        var spread = labels.Select(_ => random.NextDouble() * 0.6).ToArray();

        var (margin, maxSpread) = TriageFit.FitBand(ensemble, spread, labels, 0.5, 0.8);

        var confident = Enumerable.Range(0, labels.Length).Where(i => !(Math.Abs(ensemble[i] - 0.5) < margin || spread[i] > maxSpread)).ToList();
        Assert.True(confident.Count >= 0.8 * labels.Length, $"coverage {confident.Count}/{labels.Length}");
        double Accuracy(IEnumerable<int> which) => which.Average(i => (ensemble[i] >= 0.5) == labels[i] ? 1.0 : 0.0);
        Assert.True(margin > 0, "a band that abstains near the threshold helps on these scores");
        Assert.True(Accuracy(confident) > Accuracy(Enumerable.Range(0, labels.Length)));
    }

    [Fact]
    public void Cross_fitting_judges_each_fold_without_looking_at_its_labels()
    {
        var scans = SyntheticOutOfFold(seed: 11);
        // Flip every label of fold 2: the parameters judging fold 2 come from the other folds, so its verdicts cannot move.
        var flipped = scans.Select(s => s.Fold == 2 ? s with { IsCovid = !s.IsCovid } : s).ToList();

        var original = TriageFit.CrossFit(scans, 0.9, 0.85).Where(j => j.Scan.Fold == 2).Select(j => (j.Scan.File, j.PCovid, j.Verdict));
        var afterFlip = TriageFit.CrossFit(flipped, 0.9, 0.85).Where(j => j.Scan.Fold == 2).Select(j => (j.Scan.File, j.PCovid, j.Verdict));

        Assert.Equal(original, afterFlip);
        var otherFold = TriageFit.CrossFit(flipped, 0.9, 0.85).Where(j => j.Scan.Fold == 0).Select(j => j.PCovid);
        Assert.NotEqual(TriageFit.CrossFit(scans, 0.9, 0.85).Where(j => j.Scan.Fold == 0).Select(j => j.PCovid), otherFold);
    }

    [Fact]
    public void Fitted_parameters_produce_the_core_rule_that_serving_applies()
    {
        var scans = SyntheticOutOfFold(seed: 5);
        var parameters = TriageFit.Fit(scans, 0.9, 0.85);

        Assert.Equal(3, parameters.Calibrations.Length);
        var sensitivity = scans.Where(s => s.IsCovid).Average(s => parameters.Ensemble.Apply(parameters.Calibrated(s.Members).Average()) >= parameters.Threshold ? 1.0 : 0.0);
        Assert.True(sensitivity >= 0.9, $"sensitivity {sensitivity:F3} on the scores that fitted it");
        var judged = scans.Select(s => EnsembleScore.SoftVote(Core.Modality.Chest,
            [.. parameters.Calibrated(s.Members).Select((p, m) => new ModelScore($"m{m}", "1", p, Verdicts.For(p, parameters.Threshold)))],
            parameters.Rule)).ToList();
        var coverage = judged.Count(j => j.Verdict != Verdicts.Indeterminate) / (double)judged.Count;
        Assert.True(coverage >= 0.85, $"coverage {coverage:F3}");
        Assert.Equal(parameters.Calibrations[0].Apply(scans[0].Members[0]), judged[0].Models[0].PCovid);
    }

    /// <summary>Five folds of scans scored by three noisy members, one of them overconfident.</summary>
    private static List<ScanScores> SyntheticOutOfFold(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, 500).Select(i =>
        {
            var covid = i % 4 == 0;
            var signal = covid ? 1.0 : -1.0;
            double Member(double sharpness) => 1 / (1 + Math.Exp(-sharpness * (signal + (random.NextDouble() * 4) - 2)));
            return new ScanScores($"scan{i}", i % 5, covid, [Member(1), Member(1.5), Member(6)]);
        })];
    }
}
