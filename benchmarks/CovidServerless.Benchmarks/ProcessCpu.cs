namespace CovidServerless.Benchmarks;

/// <summary>CPU time of another process, for the CPU each process of a run spends per scan.</summary>
public static class ProcessCpu
{
    /// <summary>User + system CPU time of a process (and its children, e.g. node under the azurite launcher), from /proc.</summary>
    public static double Seconds(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/stat"))
        {
            return double.NaN;
        }

        // utime, stime, cutime, cstime: fields 14-17 of stat.
        var ticks = Ticks($"/proc/{pid}/stat", fields: 4);
        var children = File.Exists($"/proc/{pid}/task/{pid}/children")
            ? File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(c => Seconds(int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)))
            : 0;
        return (ticks / 100.0) + children;
    }

    /// <summary>
    /// User + system CPU time of a process's main thread alone. Node.js runs all of a process's JavaScript on it, so
    /// when it is busy for the whole of a burst that process could not have served more, whatever its other threads did.
    /// </summary>
    public static double MainThreadSeconds(int pid) =>
        File.Exists($"/proc/{pid}/task/{pid}/stat") ? Ticks($"/proc/{pid}/task/{pid}/stat", fields: 2) / 100.0 : double.NaN;

    /// <summary>The sum of the first <paramref name="fields"/> CPU-time fields (from utime, field 14) of a stat file.</summary>
    private static long Ticks(string statPath, int fields)
    {
        // The fields start after the ")" that ends the command name, which may itself hold spaces.
        var stat = File.ReadAllText(statPath);
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ').Skip(11).Take(fields).Sum(f => long.Parse(f, System.Globalization.CultureInfo.InvariantCulture));
    }
}
