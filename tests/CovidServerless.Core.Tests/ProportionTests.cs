using CovidServerless.Core.Evaluation;

namespace CovidServerless.Core.Tests;

public sealed class ProportionTests
{
    [Theory]
    // Reference values of the Wilson score interval (95%, z = 1.96), as published in Newcombe (1998), Table I.
    [InlineData(81, 263, 0.2553, 0.3662)]
    [InlineData(15, 148, 0.0624, 0.1605)]
    [InlineData(0, 20, 0.0, 0.1611)]
    [InlineData(1, 29, 0.0061, 0.1718)]
    public void Wilson_interval_matches_published_values(int successes, int total, double lower, double upper)
    {
        var p = Proportion.Wilson(successes, total);

        Assert.Equal(lower, p.Lower, 4);
        Assert.Equal(upper, p.Upper, 4);
        Assert.Equal((double)successes / total, p.Value);
    }

    [Fact]
    public void Interval_stays_inside_zero_and_one_and_is_empty_of_meaning_without_cases()
    {
        var all = Proportion.Wilson(10, 10);
        Assert.Equal(1.0, all.Upper);
        Assert.True(all.Lower is > 0.6 and < 0.8, $"{all}");
        Assert.True(double.IsNaN(Proportion.Wilson(0, 0).Lower));
        Assert.Equal("1.000 (10/10, 95% CI 0.722-1.000)", all.ToString());
    }
}
