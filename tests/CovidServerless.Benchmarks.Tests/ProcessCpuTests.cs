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

        Assert.True(main > 0.8 * all, $"main thread {main} s of the process's {all} s");
    }

    [Fact]
    public async Task Main_thread_time_leaves_out_the_process_s_other_threads()
    {
        var (all, main) = await MeasureNodeAsync("new (require('worker_threads').Worker)('for (;;) {}', { eval: true }); setInterval(() => {}, 1000);");

        Assert.True(main < 0.3 * all, $"main thread {main} s of the process's {all} s");
    }

    /// <returns>
    /// The process's CPU seconds and its main thread's over a window of half a CPU-second, once Node.js has started
    /// spinning. The window ends on the CPU used, not on the clock, so a busy or slow machine only makes it longer.
    /// </returns>
    private static async Task<(double All, double Main)> MeasureNodeAsync(string script)
    {
        var start = new ProcessStartInfo("node") { UseShellExecute = false };
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add(script);
        using var node = Process.Start(start)!;
        try
        {
            // Node.js's start-up runs on several threads; it is over well before the process has used 0.2 CPU-s.
            await UntilProcessUsedAsync(node.Id, 0.2);
            var (all, main) = (ProcessCpu.Seconds(node.Id), ProcessCpu.MainThreadSeconds(node.Id));
            var end = await UntilProcessUsedAsync(node.Id, all + 0.5);
            return (end - all, ProcessCpu.MainThreadSeconds(node.Id) - main);
        }
        finally
        {
            node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync();
        }
    }

    /// <returns>The process's CPU seconds once they reach <paramref name="seconds"/>.</returns>
    private static async Task<double> UntilProcessUsedAsync(int pid, double seconds)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (true)
        {
            var used = ProcessCpu.Seconds(pid);
            if (double.IsNaN(used))
            {
                throw new InvalidOperationException("Node.js exited.");
            }

            if (used >= seconds)
            {
                return used;
            }

            await Task.Delay(20, timeout.Token);
        }
    }
}
