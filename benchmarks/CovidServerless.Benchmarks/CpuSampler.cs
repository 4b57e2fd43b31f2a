namespace CovidServerless.Benchmarks;

/// <param name="Busy">All cores' busy time so far, in jiffies (/proc/stat).</param>
/// <param name="Total">All cores' time so far, busy or idle, in jiffies.</param>
/// <param name="MainThreadSeconds">Each sampled process's main-thread CPU time so far, by name.</param>
public sealed record CpuSample(DateTimeOffset At, long Busy, long Total, IReadOnlyDictionary<string, double> MainThreadSeconds);

/// <summary>The machine's CPU and some processes' main threads', sampled through a burst, and how busy they were in part of it.</summary>
public static class CpuSampler
{
    /// <summary>
    /// Every 100 ms until cancelled: the first line of /proc/stat (all cores: busy and total jiffies) and the CPU time
    /// of each of <paramref name="processes"/>' main threads.
    /// </summary>
    public static async Task<List<CpuSample>> SampleAsync(IReadOnlyDictionary<string, int> processes, CancellationToken cancellationToken)
    {
        var samples = new List<CpuSample>();
        while (!cancellationToken.IsCancellationRequested && File.Exists("/proc/stat"))
        {
            var jiffies = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(v => long.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var idle = jiffies[3] + jiffies[4];
            samples.Add(new CpuSample(DateTimeOffset.UtcNow, jiffies.Sum() - idle, jiffies.Sum(), processes.ToDictionary(p => p.Key, p => ProcessCpu.MainThreadSeconds(p.Value))));
            try
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return samples;
    }

    /// <summary>The first and the last sample between <paramref name="from"/> and <paramref name="to"/>, if two are.</summary>
    public static (CpuSample First, CpuSample Last)? Window(List<CpuSample> samples, DateTimeOffset from, DateTimeOffset to)
    {
        var window = samples.Where(s => s.At >= from && s.At <= to).ToList();
        return window.Count < 2 || window[^1].Total == window[0].Total ? null : (window[0], window[^1]);
    }

    /// <summary>The share of all cores busy (any process) over the window; NaN without one.</summary>
    public static double MachineBusy((CpuSample First, CpuSample Last)? window) =>
        window is (var first, var last) ? (double)(last.Busy - first.Busy) / (last.Total - first.Total) : double.NaN;

    /// <summary>A process's main thread's share of one core over the window; NaN without one.</summary>
    public static double MainThreadBusy((CpuSample First, CpuSample Last)? window, string process) =>
        window is (var first, var last) ? (last.MainThreadSeconds[process] - first.MainThreadSeconds[process]) / (last.At - first.At).TotalSeconds : double.NaN;
}
