namespace CovidServerless.Core.Evaluation;

/// <summary>Classification figures of one scorer on a labelled set; COVID is the positive class.</summary>
public sealed record BinaryMetrics(
    double Auc, double Accuracy, double Sensitivity, double Specificity, double Precision, double F1,
    int Tp, int Fp, int Tn, int Fn, double Ece)
{
    /// <param name="labels">true = COVID.</param>
    /// <param name="scores">pCovid of each scan.</param>
    public static BinaryMetrics Compute(IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scores);
        if (labels.Count != scores.Count || labels.Count == 0)
        {
            throw new ArgumentException("Need one score per label, and at least one of each.");
        }

        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            var predicted = scores[i] >= threshold;
            (tp, fp, tn, fn) = (labels[i], predicted) switch
            {
                (true, true) => (tp + 1, fp, tn, fn),
                (false, true) => (tp, fp + 1, tn, fn),
                (false, false) => (tp, fp, tn + 1, fn),
                (true, false) => (tp, fp, tn, fn + 1),
            };
        }

        double Ratio(int a, int b) => b == 0 ? 0 : (double)a / b;
        var precision = Ratio(tp, tp + fp);
        var sensitivity = Ratio(tp, tp + fn);
        return new BinaryMetrics(
            AreaUnderRoc(labels, scores),
            Ratio(tp + tn, labels.Count),
            sensitivity,
            Ratio(tn, tn + fp),
            precision,
            precision + sensitivity == 0 ? 0 : 2 * precision * sensitivity / (precision + sensitivity),
            tp, fp, tn, fn,
            Calibration.ExpectedCalibrationError(labels, scores));
    }

    /// <summary>Area under the ROC curve as the Mann-Whitney U statistic (ties count half).</summary>
    public static double AreaUnderRoc(IReadOnlyList<bool> labels, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scores);
        var ranked = scores.Select((s, i) => (Score: s, Positive: labels[i])).OrderBy(x => x.Score).ToList();
        double rankSumPositive = 0;
        var i = 0;
        while (i < ranked.Count)
        {
            var j = i;
            while (j + 1 < ranked.Count && ranked[j + 1].Score.Equals(ranked[i].Score))
            {
                j++;
            }

            var averageRank = ((i + j) / 2.0) + 1;
            rankSumPositive += averageRank * ranked.Skip(i).Take(j - i + 1).Count(x => x.Positive);
            i = j + 1;
        }

        double positives = labels.Count(l => l), negatives = labels.Count - positives;
        return positives == 0 || negatives == 0
            ? double.NaN
            : (rankSumPositive - (positives * (positives + 1) / 2)) / (positives * negatives);
    }

    /// <summary>ROC points (false positive rate, true positive rate) from the highest threshold down.</summary>
    public static IReadOnlyList<(double Fpr, double Tpr)> RocCurve(IReadOnlyList<bool> labels, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scores);
        double positives = labels.Count(l => l), negatives = labels.Count - positives;
        var points = new List<(double, double)> { (0, 0) };
        int tp = 0, fp = 0;
        foreach (var group in scores.Select((s, i) => (s, labels[i])).GroupBy(x => x.s).OrderByDescending(g => g.Key))
        {
            tp += group.Count(x => x.Item2);
            fp += group.Count(x => !x.Item2);
            points.Add((negatives == 0 ? 0 : fp / negatives, positives == 0 ? 0 : tp / positives));
        }

        return points;
    }
}
