using Metrics = CovidServerless.Core.Evaluation.BinaryMetrics;

namespace CovidServerless.Training.Evaluation;

/// <summary>
/// The trainer's view of the core's metrics (the ones <c>covidscan evaluate</c> reports), in the argument order the
/// trainer uses: COVID scores (pCovid) first, labels (true = COVID) second.
/// </summary>
internal static class BinaryMetrics
{
    /// <summary>ROC AUC as the Mann-Whitney statistic, ties counting one half.</summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid) => Metrics.AreaUnderRoc(isCovid, scores);

    public static double Accuracy(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid, double threshold) =>
        Metrics.Compute(isCovid, scores, threshold).Accuracy;

    /// <summary>Mean of sensitivity and specificity at the threshold (insensitive to class balance).</summary>
    public static double BalancedAccuracy(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid, double threshold)
    {
        var metrics = Metrics.Compute(isCovid, scores, threshold);
        return (metrics.Sensitivity + metrics.Specificity) / 2;
    }
}
