using System.Globalization;
using System.Runtime.InteropServices;

namespace CovidServerless.Benchmarks;

/// <summary>
/// Pins every thread of a process to a set of cores, through Linux's sched_setaffinity. Threads started later
/// inherit the mask of the thread that starts them, so a pinned process stays pinned.
/// </summary>
internal static partial class CpuAffinity
{
    public static bool Supported => OperatingSystem.IsLinux() && Environment.ProcessorCount >= 2;

    public static int[] AllCores => [.. Enumerable.Range(0, Environment.ProcessorCount)];

    /// <param name="withChildren">Also the processes it started (e.g. node under a launcher script).</param>
    public static void Pin(int pid, IReadOnlyCollection<int> cores, bool withChildren = false)
    {
        var mask = new ulong[(cores.Max() / 64) + 1];
        foreach (var core in cores)
        {
            mask[core / 64] |= 1UL << (core % 64);
        }

        // Twice, for a thread started while the first pass was under way by a thread not yet pinned.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var tid in Threads(pid))
            {
                // A thread that ended since the listing is not an error.
                _ = SchedSetAffinity(tid, (nuint)(mask.Length * sizeof(ulong)), mask);
            }
        }

        foreach (var child in withChildren ? Children(pid) : [])
        {
            Pin(child, cores, withChildren);
        }
    }

    public static string Describe(IReadOnlyCollection<int> cores) =>
        (cores.Count == 1 ? "core " : "cores ") + string.Join(",", cores);

    private static List<int> Threads(int pid) =>
        Directory.Exists($"/proc/{pid}/task")
            ? Directory.EnumerateDirectories($"/proc/{pid}/task").Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).ToList()
            : [];

    private static List<int> Children(int pid)
    {
        var path = $"/proc/{pid}/task/{pid}/children";
        return File.Exists(path)
            ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToList()
            : [];
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SchedSetAffinity(int tid, nuint size, ulong[] mask);
}

/// <summary>The machine's cores divided between the pipeline and storage (Azurite and the benchmark's client).</summary>
public sealed record CoreSplit(int[] Pipeline, int[] Storage)
{
    /// <summary>Storage on the last core, as it would run on other machines in Azure; the pipeline on the rest.</summary>
    public static CoreSplit? ForThisMachine() =>
        CpuAffinity.Supported ? new(CpuAffinity.AllCores[..^1], [Environment.ProcessorCount - 1]) : null;
}
