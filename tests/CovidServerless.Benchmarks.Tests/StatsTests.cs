using CovidServerless.Benchmarks;

namespace CovidServerless.Benchmarks.Tests;

public class StatsTests
{
    [Fact]
    public void Quartiles_interpolate_between_ranks_and_an_even_count_has_the_mean_of_its_middle_pair_as_median()
    {
        var stats = Stats.Of([4, 1, 3, 2]);

        Assert.Equal((2.5, 1.75, 3.25, 1, 4, 4), (stats.MedianMs, stats.P25Ms, stats.P75Ms, stats.MinMs, stats.MaxMs, stats.Runs));
    }

    [Fact]
    public void An_odd_count_has_its_middle_value_as_median_and_quartiles_at_exact_ranks()
    {
        var stats = Stats.Of([10, 50, 20, 40, 30]);

        Assert.Equal((30, 20, 40), (stats.MedianMs, stats.P25Ms, stats.P75Ms));
    }
}
