using CovidServerless.Core.Series;

namespace CovidServerless.Core.Tests;

/// <summary>The CT series rule: the mean pCovid of the top k scored slices, k = max(1, ⌈fraction × n⌉).</summary>
public class SeriesRuleTests
{
    [Theory]
    [InlineData(1, 0.1, 1)]
    [InlineData(9, 0.1, 1)]
    [InlineData(10, 0.1, 1)]
    [InlineData(11, 0.1, 2)]
    [InlineData(30, 0.1, 3)]
    [InlineData(300, 0.1, 30)]
    [InlineData(4, 1.0, 4)]
    [InlineData(0, 0.1, 0)]
    public void K_is_the_top_fraction_of_the_scored_slices_rounded_up_and_at_least_one(int scored, double fraction, int k)
    {
        Assert.Equal(k, SeriesRule.TopK(scored, fraction));
    }

    [Fact]
    public void The_series_pcovid_is_the_mean_of_the_highest_k_slices()
    {
        double[] slices = [0.1, 0.9, 0.2, 0.7, 0.05, 0.1, 0.3, 0.2, 0.1, 0.0, 0.8, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];

        var (pCovid, used) = SeriesRule.Apply(slices, 0.1);

        Assert.Equal([1, 10], used);
        Assert.Equal(0.85, pCovid, 12);
    }

    [Fact]
    public void Focal_disease_in_a_few_slices_of_a_long_series_is_not_diluted_by_the_normal_ones()
    {
        // 200 slices: 180 normal-looking (lung apices and bases, or clear lung), 20 with findings.
        var slices = Enumerable.Repeat(0.05, 180).Concat(Enumerable.Repeat(0.9, 20)).ToArray();

        var (pCovid, used) = SeriesRule.Apply(slices, 0.1);

        Assert.Equal(20, used.Length);
        Assert.Equal(0.9, pCovid, 12);
        Assert.True(slices.Average() < 0.2, "the plain mean would have called it non-COVID");
    }

    [Fact]
    public void One_outlying_slice_in_a_long_series_does_not_decide_it_alone()
    {
        var slices = Enumerable.Repeat(0.1, 99).Append(0.99).ToArray();

        var (pCovid, _) = SeriesRule.Apply(slices, 0.1);

        Assert.True(pCovid < 0.5, $"{pCovid}: the maximum would have been 0.99");
    }

    [Fact]
    public void A_series_without_a_scored_slice_has_no_score()
    {
        Assert.Throws<ArgumentException>(() => SeriesRule.Apply([], 0.1));
    }
}
