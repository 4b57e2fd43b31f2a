using System.Diagnostics;

namespace CovidServerless.Benchmarks;

/// <summary>Median and spread of repeated timings, in milliseconds.</summary>
public sealed record Stats(double MedianMs, double P25Ms, double P75Ms, double MinMs, double MaxMs, int Runs)
{
    public static Stats Of(IReadOnlyList<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();

        // Linear interpolation between the two nearest ranks: an even count's median is the mean of its middle pair.
        double At(double q)
        {
            var position = q * (sorted.Length - 1);
            var below = (int)Math.Floor(position);
            var above = Math.Min(below + 1, sorted.Length - 1);
            return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
        }

        return new Stats(At(0.5), At(0.25), At(0.75), sorted[0], sorted[^1], sorted.Length);
    }

    /// <summary>Times <paramref name="action"/> after <paramref name="warmup"/> untimed runs.</summary>
    public static Stats Measure(Action action, int runs, int warmup = 2)
    {
        for (var i = 0; i < warmup; i++)
        {
            action();
        }

        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }

        return Of(times);
    }

    public static async Task<Stats> MeasureAsync(Func<Task> action, int runs, int warmup = 2)
    {
        for (var i = 0; i < warmup; i++)
        {
            await action();
        }

        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await action();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }

        return Of(times);
    }

    public override string ToString() => $"{MedianMs,9:F2} ms  (IQR {P25Ms:F2}-{P75Ms:F2}, n={Runs})";
}

/// <summary>Median and interquartile range of a unitless figure measured in several rounds.</summary>
public sealed record Spread(double Median, double P25, double P75, int Rounds)
{
    public static Spread Of(IReadOnlyList<double> values)
    {
        var stats = Stats.Of(values);
        return new Spread(stats.MedianMs, stats.P25Ms, stats.P75Ms, stats.Runs);
    }
}
