using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Evaluation;

/// <summary>
/// Triage with an abstaining band: <see cref="Coverage"/> is the share of scans given a confident verdict (covid or
/// noncovid, not indeterminate); accuracy, sensitivity and specificity count the confident ones only. COVID is the
/// positive class. A figure with no scan to count is NaN, not 0, so that it cannot pass for a measurement.
/// </summary>
public sealed record TriageMetrics(
    int Scans, int Confident, double Coverage, double Accuracy, double Sensitivity, double Specificity, int Tp, int Fp, int Tn, int Fn)
{
    /// <param name="labels">true = COVID.</param>
    /// <param name="verdicts">The ensemble's verdict of each scan (<see cref="Verdicts"/>).</param>
    public static TriageMetrics Compute(IReadOnlyList<bool> labels, IReadOnlyList<string> verdicts)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(verdicts);
        if (labels.Count != verdicts.Count || labels.Count == 0)
        {
            throw new ArgumentException("Need one verdict per label, and at least one.");
        }

        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            (tp, fp, tn, fn) = (labels[i], verdicts[i]) switch
            {
                (_, Verdicts.Indeterminate) => (tp, fp, tn, fn),
                (true, Verdicts.Covid) => (tp + 1, fp, tn, fn),
                (false, Verdicts.Covid) => (tp, fp + 1, tn, fn),
                (false, Verdicts.NonCovid) => (tp, fp, tn + 1, fn),
                (true, Verdicts.NonCovid) => (tp, fp, tn, fn + 1),
                _ => throw new ArgumentException($"Unknown verdict '{verdicts[i]}'.", nameof(verdicts)),
            };
        }

        static double Ratio(int a, int b) => b == 0 ? double.NaN : (double)a / b;
        var confident = tp + fp + tn + fn;
        return new TriageMetrics(
            labels.Count, confident, (double)confident / labels.Count, Ratio(tp + tn, confident), Ratio(tp, tp + fn), Ratio(tn, tn + fp), tp, fp, tn, fn);
    }
}
