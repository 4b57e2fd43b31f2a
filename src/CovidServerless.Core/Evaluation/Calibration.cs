namespace CovidServerless.Core.Evaluation;

/// <summary>One bin of a reliability curve: mean predicted pCovid against the observed COVID rate.</summary>
public sealed record ReliabilityBin(double Lower, double Upper, int Count, double MeanPredicted, double ObservedRate);

/// <summary>How far predicted probabilities are from observed frequencies.</summary>
public static class Calibration
{
    public const int Bins = 10;

    public static IReadOnlyList<ReliabilityBin> ReliabilityCurve(IReadOnlyList<bool> labels, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scores);
        var bins = new List<ReliabilityBin>();
        for (var b = 0; b < Bins; b++)
        {
            double lower = (double)b / Bins, upper = (double)(b + 1) / Bins;
            var members = Enumerable.Range(0, scores.Count)
                .Where(i => scores[i] >= lower && (scores[i] < upper || (b == Bins - 1 && scores[i] <= upper)))
                .ToList();
            bins.Add(members.Count == 0
                ? new ReliabilityBin(lower, upper, 0, double.NaN, double.NaN)
                : new ReliabilityBin(lower, upper, members.Count, members.Average(i => scores[i]), members.Average(i => labels[i] ? 1.0 : 0.0)));
        }

        return bins;
    }

    /// <summary>Expected calibration error: the count-weighted mean gap between confidence and accuracy over 10 bins.</summary>
    public static double ExpectedCalibrationError(IReadOnlyList<bool> labels, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return ReliabilityCurve(labels, scores)
            .Where(b => b.Count > 0)
            .Sum(b => b.Count * Math.Abs(b.MeanPredicted - b.ObservedRate)) / scores.Count;
    }
}
