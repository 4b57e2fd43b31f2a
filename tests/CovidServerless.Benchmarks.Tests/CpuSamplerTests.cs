using CovidServerless.Benchmarks;

namespace CovidServerless.Benchmarks.Tests;

public sealed class CpuSamplerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 16, 0, 0, TimeSpan.Zero);

    private static CpuSample At(double seconds, long busy, long total, double azuriteMainThread) =>
        new(T0.AddSeconds(seconds), busy, total, new Dictionary<string, double> { ["azurite"] = azuriteMainThread });

    private readonly List<CpuSample> samples =
    [
        At(0.0, busy: 0, total: 200, azuriteMainThread: 0.00),
        At(1.0, busy: 100, total: 400, azuriteMainThread: 0.10),
        At(2.0, busy: 300, total: 600, azuriteMainThread: 0.90),
        At(3.0, busy: 500, total: 800, azuriteMainThread: 1.70),
        At(4.0, busy: 520, total: 1000, azuriteMainThread: 1.75),
    ];

    [Fact]
    public void Busy_shares_are_taken_between_the_first_and_last_sample_inside_the_window()
    {
        var window = CpuSampler.Window(samples, T0.AddSeconds(0.5), T0.AddSeconds(3.5));

        Assert.Equal((1.0, 3.0), (window!.Value.First.At.Subtract(T0).TotalSeconds, window.Value.Last.At.Subtract(T0).TotalSeconds));
        Assert.Equal(1.0, CpuSampler.MachineBusy(window), 9);
        Assert.Equal(0.8, CpuSampler.MainThreadBusy(window, "azurite"), 9);
    }

    [Fact]
    public void Busy_shares_over_the_whole_run_include_its_quiet_start_and_end()
    {
        var window = CpuSampler.Window(samples, T0, T0.AddSeconds(4));

        Assert.Equal(520.0 / 800, CpuSampler.MachineBusy(window), 9);
        Assert.Equal(1.75 / 4, CpuSampler.MainThreadBusy(window, "azurite"), 9);
    }

    [Fact]
    public void A_window_with_fewer_than_two_samples_gives_no_figure()
    {
        var window = CpuSampler.Window(samples, T0.AddSeconds(0.5), T0.AddSeconds(1.5));

        Assert.Null(window);
        Assert.True(double.IsNaN(CpuSampler.MachineBusy(window)));
        Assert.True(double.IsNaN(CpuSampler.MainThreadBusy(window, "azurite")));
    }
}
