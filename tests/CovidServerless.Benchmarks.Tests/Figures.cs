namespace CovidServerless.Benchmarks.Tests;

/// <summary>Checks on reported figures whose values are not meaningful at a test's size, but whose kind is.</summary>
internal static class Figures
{
    /// <summary>A rate, ratio or duration that was measured: not zero, negative, NaN (0/0) or infinite (x/0).</summary>
    public static void FinitePositive(double figure) => Assert.InRange(figure, double.Epsilon, double.MaxValue);
}
