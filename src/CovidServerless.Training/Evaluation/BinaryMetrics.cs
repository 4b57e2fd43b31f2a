namespace CovidServerless.Training.Evaluation;

/// <summary>Metrics of COVID scores (pCovid) against labels (true = COVID).</summary>
internal static class BinaryMetrics
{
    /// <summary>
    /// ROC AUC as the Mann-Whitney statistic: the probability that a random COVID scan scores above a random
    /// non-COVID one, ties counting one half.
    /// </summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[scores.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]])
            {
                end++;
            }

            var averageRank = ((start + end) / 2.0) + 1;
            for (var k = start; k <= end; k++)
            {
                ranks[order[k]] = averageRank;
            }

            start = end + 1;
        }

        var positives = isCovid.Count(c => c);
        var negatives = isCovid.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        var positiveRankSum = Enumerable.Range(0, ranks.Length).Where(i => isCovid[i]).Sum(i => ranks[i]);
        return (positiveRankSum - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }

    public static double Accuracy(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid, double threshold) =>
        Enumerable.Range(0, scores.Count).Count(i => (scores[i] >= threshold) == isCovid[i]) / (double)scores.Count;

    /// <summary>Mean of sensitivity and specificity at the threshold (insensitive to class balance).</summary>
    public static double BalancedAccuracy(IReadOnlyList<double> scores, IReadOnlyList<bool> isCovid, double threshold)
    {
        var indices = Enumerable.Range(0, scores.Count).ToArray();
        double positives = isCovid.Count(c => c), negatives = isCovid.Count - positives;
        var sensitivity = indices.Count(i => isCovid[i] && scores[i] >= threshold) / positives;
        var specificity = indices.Count(i => !isCovid[i] && scores[i] < threshold) / negatives;
        return (sensitivity + specificity) / 2;
    }
}
