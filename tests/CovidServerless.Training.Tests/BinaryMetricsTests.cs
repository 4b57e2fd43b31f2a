using CovidServerless.Training.Evaluation;

namespace CovidServerless.Training.Tests;

public sealed class BinaryMetricsTests
{
    [Fact]
    public void Auc_is_one_for_perfect_ranking_and_zero_for_reversed() =>
        Assert.Equal((1.0, 0.0), (
            BinaryMetrics.Auc([0.9, 0.8, 0.2, 0.1], [true, true, false, false]),
            BinaryMetrics.Auc([0.1, 0.2, 0.8, 0.9], [true, true, false, false])));

    [Fact]
    public void Auc_counts_ties_as_half_and_matches_a_hand_computed_case()
    {
        Assert.Equal(0.5, BinaryMetrics.Auc([0.5, 0.5, 0.5], [true, false, false]));
        // Pairs (covid, noncovid): (0.8,0.3) win, (0.8,0.6) win, (0.4,0.3) win, (0.4,0.6) loss -> 3/4.
        Assert.Equal(0.75, BinaryMetrics.Auc([0.8, 0.4, 0.3, 0.6], [true, true, false, false]), 10);
    }

    [Fact]
    public void Balanced_accuracy_averages_sensitivity_and_specificity()
    {
        // Threshold 0.5: covid 2/2 found, noncovid 1/4 correct -> (1 + 0.25) / 2.
        Assert.Equal(0.625, BinaryMetrics.BalancedAccuracy([0.9, 0.7, 0.6, 0.6, 0.8, 0.1], [true, true, false, false, false, false], 0.5), 10);
    }
}
