using CovidServerless.Core.Models;

namespace CovidServerless.Training.Evaluation;

/// <summary>One scan's out-of-fold scores: each member's raw pCovid, in the order of the fit's model names.</summary>
internal sealed record ScanScores(string File, int Fold, bool IsCovid, double[] Members);

/// <summary>A scan judged by parameters fitted without its fold: calibrated members, ensemble pCovid, verdict, and the threshold used.</summary>
internal sealed record JudgedScan(ScanScores Scan, double[] Calibrated, double PCovid, string Verdict, double Threshold);

/// <summary>Everything triage needs beyond the models: member temperatures, threshold, abstaining band.</summary>
internal sealed record TriageParameters(ModelCalibration[] Calibrations, ModelCalibration Ensemble, double Threshold, double Margin, double MaxSpread)
{
    public EnsembleRule Rule => new()
    {
        Threshold = Threshold,
        Calibration = Ensemble,
        Abstain = new AbstainRule { Margin = Margin, MaxSpread = MaxSpread },
    };

    /// <summary>Calibrated member probabilities, through the core's own scaling.</summary>
    public double[] Calibrated(double[] members) => [.. members.Select((p, m) => Calibrations[m].Apply(p))];
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
        var calibrations = Enumerable.Range(0, scans[0].Members.Length)
            .Select(m => FitCalibration([.. scans.Select(s => s.Members[m])], labels))
            .ToArray();
        var calibrated = scans.Select(s => new TriageParameters(calibrations, new ModelCalibration(), 0.5, 0, 1).Calibrated(s.Members)).ToArray();
        // Averaging pulls probabilities toward the middle; a last scaling of the vote makes it match observed rates again.
        var vote = calibrated.Select(c => c.Average()).ToArray();
        var ensembleCalibration = FitCalibration(vote, labels);
        var ensemble = vote.Select(ensembleCalibration.Apply).ToArray();
        var spread = calibrated.Select(c => c.Max() - c.Min()).ToArray();
        var threshold = ThresholdForSensitivity(ensemble, labels, targetSensitivity);
        var (margin, maxSpread) = FitBand(ensemble, spread, labels, threshold, minCoverage);
        return new TriageParameters(calibrations, ensembleCalibration, threshold, margin, maxSpread);
    }

    /// <summary>Each scan's calibrated ensemble pCovid and verdict from parameters fitted without its fold.</summary>
    public static List<JudgedScan> CrossFit(
        IReadOnlyList<ScanScores> scans, double targetSensitivity, double minCoverage)
    {
        var judged = new List<JudgedScan>();
        foreach (var fold in scans.Select(s => s.Fold).Distinct().Order())
        {
            var parameters = Fit([.. scans.Where(s => s.Fold != fold)], targetSensitivity, minCoverage);
            judged.AddRange(scans.Where(s => s.Fold == fold).Select(s =>
            {
                var calibrated = parameters.Calibrated(s.Members);
                var vote = Core.Scoring.EnsembleScore.SoftVote(Core.Modality.Ct,
                    [.. calibrated.Select((p, m) => new Core.Scoring.ModelScore($"m{m}", "0", p, Core.Scoring.Verdicts.For(p, parameters.Rule.MemberThreshold)))],
                    parameters.Rule);
                return new JudgedScan(s, calibrated, vote.PCovid, vote.Verdict, parameters.Threshold);
            }));
        }

        return judged;
    }

    /// <summary>
    /// Platt scaling: the logistic regression of the label on the member's logit, p = sigmoid(a z + b), fitted by Newton's
    /// method (maximum likelihood, a tiny ridge keeps separable data finite); T = 1 / a, kept inside (0.01, 100).
    /// </summary>
    public static ModelCalibration FitCalibration(IReadOnlyList<double> pCovid, IReadOnlyList<bool> isCovid)
    {
        var z = pCovid.Select(p => Math.Log(Math.Clamp(p, 1e-7, 1 - 1e-7) / (1 - Math.Clamp(p, 1e-7, 1 - 1e-7)))).ToArray();
        const double ridge = 1e-4;
        double LogLikelihood(double a, double b) => z.Select((zi, i) =>
        {
            var logit = (a * zi) + b;
            // log sigmoid(x) = -log(1 + e^-x), written to stay finite for large |x|.
            var signed = isCovid[i] ? logit : -logit;
            return signed >= 0 ? -double.LogP1(Math.Exp(-signed)) : signed - double.LogP1(Math.Exp(signed));
        }).Sum() - (ridge / 2 * ((a * a) + (b * b)));

        double a = 1, b = 0, current = LogLikelihood(a, b);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double ga = -ridge * a, gb = -ridge * b, haa = -ridge, hab = 0, hbb = -ridge;
            for (var i = 0; i < z.Length; i++)
            {
                var p = 1 / (1 + Math.Exp(-((a * z[i]) + b)));
                var residual = (isCovid[i] ? 1 : 0) - p;
                var weight = p * (1 - p);
                ga += residual * z[i];
                gb += residual;
                haa -= weight * z[i] * z[i];
                hab -= weight * z[i];
                hbb -= weight;
            }

            // Newton's step, halved until the likelihood rises (far from the optimum a full step can overshoot).
            var determinant = (haa * hbb) - (hab * hab);
            var (stepA, stepB) = (((hbb * ga) - (hab * gb)) / determinant, ((haa * gb) - (hab * ga)) / determinant);
            var scale = 1.0;
            while (scale > 1e-6 && LogLikelihood(a - (scale * stepA), b - (scale * stepB)) < current)
            {
                scale /= 2;
            }

            (a, b) = (a - (scale * stepA), b - (scale * stepB));
            var next = LogLikelihood(a, b);
            var converged = next - current < 1e-10;
            current = next;
            if (converged)
            {
                break;
            }
        }

        var temperature = Math.Clamp(1 / Math.Max(a, 1e-9), 0.01, 99);
        return new ModelCalibration { Temperature = Math.Round(temperature, 4), Bias = Math.Round(b, 4) };
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
