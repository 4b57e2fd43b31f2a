using CovidServerless.Core.Models;

namespace CovidServerless.Training.Evaluation;

/// <summary>One scan's out-of-fold scores: each member's raw pCovid, in the order of the fit's model names.</summary>
internal sealed record ScanScores(string File, int Fold, bool IsCovid, double[] Members);

/// <summary>Everything triage needs beyond the models: member temperatures, threshold, abstaining band.</summary>
internal sealed record TriageParameters(double[] Temperatures, double Threshold, double Margin, double MaxSpread)
{
    public EnsembleRule Rule => new() { Threshold = Threshold, Abstain = new AbstainRule { Margin = Margin, MaxSpread = MaxSpread } };

    /// <summary>Calibrated member probabilities, through the core's own temperature scaling.</summary>
    public double[] Calibrated(double[] members) =>
        [.. members.Select((p, m) => new ModelCalibration { Temperature = Temperatures[m] }.Apply(p))];
}

/// <summary>
/// Fits triage on out-of-fold scores (<see cref="Fit"/>) and measures it honestly (<see cref="CrossFit"/>: each fold's
/// scans judged by parameters fitted on the other folds only).
/// </summary>
internal static class TriageFit
{
    private static readonly double[] Margins = [.. Enumerable.Range(0, 16).Select(i => i * 0.02)];
    private static readonly double[] Spreads = [.. Enumerable.Range(3, 8).Select(i => i / 10.0)];

    /// <param name="targetSensitivity">The threshold is the largest at which at least this share of COVID scans is called COVID.</param>
    /// <param name="minCoverage">The band is the one with the most accurate confident verdicts that leaves at least this share confident.</param>
    public static TriageParameters Fit(IReadOnlyList<ScanScores> scans, double targetSensitivity, double minCoverage)
    {
        var labels = scans.Select(s => s.IsCovid).ToArray();
        var temperatures = Enumerable.Range(0, scans[0].Members.Length)
            .Select(m => FitTemperature([.. scans.Select(s => s.Members[m])], labels))
            .ToArray();
        var calibrated = scans.Select(s => new TriageParameters(temperatures, 0.5, 0, 1).Calibrated(s.Members)).ToArray();
        var ensemble = calibrated.Select(c => c.Average()).ToArray();
        var spread = calibrated.Select(c => c.Max() - c.Min()).ToArray();
        var threshold = ThresholdForSensitivity(ensemble, labels, targetSensitivity);
        var (margin, maxSpread) = FitBand(ensemble, spread, labels, threshold, minCoverage);
        return new TriageParameters(temperatures, threshold, margin, maxSpread);
    }

    /// <summary>Each scan's calibrated ensemble pCovid and verdict from parameters fitted without its fold.</summary>
    public static List<(ScanScores Scan, double[] Calibrated, double PCovid, string Verdict)> CrossFit(
        IReadOnlyList<ScanScores> scans, double targetSensitivity, double minCoverage)
    {
        var judged = new List<(ScanScores, double[], double, string)>();
        foreach (var fold in scans.Select(s => s.Fold).Distinct().Order())
        {
            var parameters = Fit([.. scans.Where(s => s.Fold != fold)], targetSensitivity, minCoverage);
            judged.AddRange(scans.Where(s => s.Fold == fold).Select(s =>
            {
                var calibrated = parameters.Calibrated(s.Members);
                var vote = Core.Scoring.EnsembleScore.SoftVote(Core.Modality.Ct,
                    [.. calibrated.Select((p, m) => new Core.Scoring.ModelScore($"m{m}", "0", p, Core.Scoring.Verdicts.For(p, parameters.Threshold)))],
                    parameters.Rule);
                return (s, calibrated, vote.PCovid, vote.Verdict);
            }));
        }

        return judged;
    }

    /// <summary>The temperature minimising the negative log-likelihood of sigmoid(logit(p) / T): a log-spaced scan, then golden-section refinement.</summary>
    public static double FitTemperature(IReadOnlyList<double> pCovid, IReadOnlyList<bool> isCovid)
    {
        double Loss(double logT)
        {
            var calibration = new ModelCalibration { Temperature = Math.Exp(logT) };
            var sum = 0.0;
            for (var i = 0; i < pCovid.Count; i++)
            {
                var p = Math.Clamp(calibration.Apply(pCovid[i]), 1e-12, 1 - 1e-12);
                sum -= isCovid[i] ? Math.Log(p) : Math.Log(1 - p);
            }

            return sum;
        }

        var grid = Enumerable.Range(0, 61).Select(i => Math.Log(0.05) + (i * (Math.Log(50) - Math.Log(0.05)) / 60)).ToArray();
        var best = grid.MinBy(Loss);
        double step = grid[1] - grid[0], lo = best - step, hi = best + step;
        var ratio = (Math.Sqrt(5) - 1) / 2;
        for (var i = 0; i < 60; i++)
        {
            double a = hi - (ratio * (hi - lo)), b = lo + (ratio * (hi - lo));
            (lo, hi) = Loss(a) < Loss(b) ? (lo, b) : (a, hi);
        }

        return Math.Round(Math.Exp((lo + hi) / 2), 4);
    }

    /// <summary>
    /// The largest threshold that calls at least <paramref name="target"/> of the COVID scans COVID (scores >= threshold),
    /// placed halfway to the next lower score so that it does not sit on a scan.
    /// </summary>
    public static double ThresholdForSensitivity(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid, double target)
    {
        var covid = scores.Where((_, i) => isCovid[i]).OrderDescending().ToArray();
        var needed = (int)Math.Ceiling(target * covid.Length - 1e-9);
        var kth = covid[Math.Clamp(needed, 1, covid.Length) - 1];
        var below = scores.Where(s => s < kth).DefaultIfEmpty(kth).Max();
        var halfway = (kth + below) / 2;
        return halfway > below && halfway < kth ? halfway : kth;
    }

    /// <summary>
    /// The abstaining band (margin around the threshold, largest member spread) with the highest accuracy on the
    /// confident scans among those leaving at least <paramref name="minCoverage"/> confident; ties go to more coverage,
    /// then to the narrower band.
    /// </summary>
    public static (double Margin, double MaxSpread) FitBand(
        IReadOnlyList<double> ensemble, IReadOnlyList<double> spread, IReadOnlyList<bool> isCovid, double threshold, double minCoverage)
    {
        var candidates = new List<(double Margin, double Spread, double Accuracy, double Coverage)>();
        foreach (var margin in Margins)
        {
            foreach (var maxSpread in Spreads)
            {
                int confident = 0, correct = 0;
                for (var i = 0; i < ensemble.Count; i++)
                {
                    if (Math.Abs(ensemble[i] - threshold) < margin || spread[i] > maxSpread)
                    {
                        continue;
                    }

                    confident++;
                    correct += (ensemble[i] >= threshold) == isCovid[i] ? 1 : 0;
                }

                var coverage = (double)confident / ensemble.Count;
                if (coverage >= minCoverage && confident > 0)
                {
                    candidates.Add((margin, maxSpread, (double)correct / confident, coverage));
                }
            }
        }

        var best = candidates
            .OrderByDescending(c => Math.Round(c.Accuracy, 9))
            .ThenByDescending(c => c.Coverage)
            .ThenBy(c => c.Margin)
            .ThenByDescending(c => c.Spread)
            .First();
        return (best.Margin, best.Spread);
    }
}
