namespace CovidServerless.Core.Series;

/// <summary>
/// The series rule: the mean pCovid of the top k scored slices, k = max(1, ⌈TopFraction × scored slices⌉).
/// COVID-19 findings (ground-glass opacities, consolidation) occupy part of the lungs, so most slices of a positive
/// series look normal and slices above and below the lungs are the norm: the mean over all slices would dilute focal
/// disease to nothing. The maximum is one slice's word, and a series of hundreds gives a classifier hundreds of chances
/// to be wrong once. The mean of the top tenth needs several slices to agree and scales with the series' length.
/// Slices the pipeline rejected (the input gate's "not a lung CT" included) have no score and take no part; they are
/// counted in the result.
/// </summary>
public static class SeriesRule
{
    public const string Name = "mean-of-top-k";

    /// <summary>How many of <paramref name="scored"/> slices the rule averages.</summary>
    public static int TopK(int scored, double topFraction) =>
        scored == 0 ? 0 : Math.Clamp((int)Math.Ceiling(Math.Round(topFraction * scored, 9)), 1, scored);

    /// <summary>The rule's pCovid over the slices' pCovid values, and the indices of the k slices it used, highest first.</summary>
    public static (double PCovid, int[] Used) Apply(IReadOnlyList<double> slicePCovid, double topFraction)
    {
        ArgumentNullException.ThrowIfNull(slicePCovid);
        if (slicePCovid.Count == 0)
        {
            throw new ArgumentException("The rule needs at least one scored slice.", nameof(slicePCovid));
        }

        var k = TopK(slicePCovid.Count, topFraction);
        var used = Enumerable.Range(0, slicePCovid.Count).OrderByDescending(i => slicePCovid[i]).ThenBy(i => i).Take(k).ToArray();
        return (used.Average(i => slicePCovid[i]), used);
    }
}
