using System.Diagnostics;
using CovidServerless.Benchmarks;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>
/// The benchmark tells a saturated Azurite from a busy one by its main thread, which runs all of a Node.js process's
/// JavaScript: these Node.js processes keep one thread spinning, the main thread or another.
/// </summary>
public sealed class ProcessCpuTests
{
    [Fact]
    public async Task Main_thread_time_counts_a_main_thread_that_spins()
    {
        var (all, main) = await MeasureNodeAsync("for (;;) {}");

        Assert.True(all > 0.3, $"process {all} s");
        Assert.True(main > 0.8 * all, $"main thread {main} s of the process's {all} s");
    }

    [Fact]
    public async Task Main_thread_time_leaves_out_the_process_s_other_threads()
    {
        var (all, main) = await MeasureNodeAsync("new (require('worker_threads').Worker)('for (;;) {}', { eval: true }); setInterval(() => {}, 1000);");

        Assert.True(all > 0.3, $"process {all} s");
        Assert.True(main < 0.3 * all, $"main thread {main} s of the process's {all} s");
    }

    /// <returns>The process's CPU seconds and its main thread's over 1.5 s, once Node.js has started.</returns>
    private static async Task<(double All, double Main)> MeasureNodeAsync(string script)
    {
        var start = new ProcessStartInfo("node") { UseShellExecute = false };
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add(script);
        using var node = Process.Start(start)!;
        try
        {
            await Task.Delay(500);
            var (all, main) = (ProcessCpu.Seconds(node.Id), ProcessCpu.MainThreadSeconds(node.Id));
            await Task.Delay(1500);
            return (ProcessCpu.Seconds(node.Id) - all, ProcessCpu.MainThreadSeconds(node.Id) - main);
        }
        finally
        {
            node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync();
        }
    }
}
