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

        // Fields after the ")" that ends the command name: utime, stime, cutime, cstime are fields 14-17 of stat.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = fields.Skip(11).Take(4).Sum(f => long.Parse(f, System.Globalization.CultureInfo.InvariantCulture));
        var children = Directory.Exists($"/proc/{pid}/task") && File.Exists($"/proc/{pid}/task/{pid}/children")
            ? File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(c => Seconds(int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)))
            : 0;
        return (ticks / 100.0) + children;
    }
}
