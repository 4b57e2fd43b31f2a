namespace CovidServerless.Benchmarks;

/// <summary>
/// One round of the default configuration: the burst end to end (a fresh host and Azurite) and the same burst
/// through the same scorer in this process, one right after the other.
/// </summary>
/// <param name="InProcessFirst">Which of the two ran first: the order is swapped every round.</param>
public sealed record EndToEndRound(EndToEndResult EndToEnd, BurstResult InProcess, bool InProcessFirst)
{
    /// <summary>The steady end-to-end rate over the in-process rate: what storage and triggers cost.</summary>
    public double Fraction => EndToEnd.SteadyScansPerMinute / InProcess.ScansPerMinute;

    /// <summary>The rounds' fractions: median and interquartile range.</summary>
    public static Spread FractionSpread(IReadOnlyList<EndToEndRound> rounds) => Spread.Of([.. rounds.Select(r => r.Fraction)]);

    /// <summary>The round whose fraction is the median; of an even number, the lower of the middle two.</summary>
    public static EndToEndRound Median(IReadOnlyList<EndToEndRound> rounds) =>
        rounds.OrderBy(r => r.Fraction).ElementAt((rounds.Count - 1) / 2);
}
