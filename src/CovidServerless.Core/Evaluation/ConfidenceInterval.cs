namespace CovidServerless.Core.Evaluation;

/// <summary>A proportion with its 95% confidence interval.</summary>
public sealed record Proportion(int Successes, int Total, double Lower, double Upper)
{
    public double Value => Total == 0 ? double.NaN : (double)Successes / Total;

    /// <summary>e.g. "0.904 (124/137, 95% CI 0.843-0.944)".</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Value:F3} ({Successes}/{Total}, 95% CI {Lower:F3}-{Upper:F3})");

    /// <summary>
    /// Wilson score interval at 95%: unlike the normal approximation it stays inside [0, 1] and behaves at the small
    /// counts (tens of scans) and extreme rates (sensitivity near 1) that model validation here has.
    /// </summary>
    public static Proportion Wilson(int successes, int total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, total);
        if (total == 0)
        {
            return new Proportion(0, 0, double.NaN, double.NaN);
        }

        const double z = 1.959963984540054;
        double n = total, p = successes / n, z2 = z * z;
        var centre = (p + (z2 / (2 * n))) / (1 + (z2 / n));
        var half = z / (1 + (z2 / n)) * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n)));
        // At 0 or all successes the bound is exactly 0 or 1; the formula gets there only up to rounding.
        return new Proportion(successes, total, successes == 0 ? 0 : centre - half, successes == total ? 1 : centre + half);
    }
}
