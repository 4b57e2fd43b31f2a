using System.Diagnostics;
using System.Globalization;

namespace CovidServerless.Torture;

/// <summary>
/// Keeps a process of the pipeline (the torture host, or the scoring worker) running as an operator's service manager
/// would: starts it, and starts it again whenever it ends, whether the run killed it (SIGKILL) or it crashed on its
/// own (the poison scan). The run can also make it hang (SIGSTOP, then SIGCONT). Samples the peak memory of every
/// process it started from /proc.
/// </summary>
public sealed class HostSupervisor : IAsyncDisposable
{
    private readonly Func<ProcessStartInfo> startInfo;
    private readonly string name;
    private readonly StreamWriter log;
    private readonly string[] counted;
    private readonly int[] seen;
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stopping = new(); // cancelled once, never disposed: DisposeAsync may run twice
    private Process? current;
    private bool killedByRun;
    private Task? loop;
    private Task? sampler;

    /// <param name="counted">Markers whose output lines <see cref="Seen"/> counts as they are written.</param>
    public HostSupervisor(Func<ProcessStartInfo> startInfo, string logPath, string name = "host", params string[] counted)
    {
        this.startInfo = startInfo;
        this.name = name;
        this.counted = counted;
        seen = new int[counted.Length];
        log = new StreamWriter(logPath, append: false) { AutoFlush = true };
    }

    public int Starts { get; private set; }

    public int Kills { get; private set; }

    /// <summary>Ends that the host chose itself and whose output named the poison scan (Environment.FailFast).</summary>
    public int PoisonCrashes { get; private set; }

    /// <summary>Ends that neither the run nor the poison scan caused (exit code each), e.g. a host that gave up while storage was down.</summary>
    public List<int> OtherExits { get; } = [];

    /// <summary>The highest peak resident memory (VmHWM) of any one host process, in bytes, sampled every 250 ms.</summary>
    public long PeakHostBytes { get; private set; }

    public void Start()
    {
        loop = Task.Run(SuperviseAsync);
        sampler = Task.Run(SampleAsync);
    }

    /// <summary>SIGKILLs the running host (the loop starts it again); false when none was running.</summary>
    public bool Kill()
    {
        lock (gate)
        {
            if (current is null || current.HasExited)
            {
                return false;
            }

            killedByRun = true;
            current.Kill(); // SIGKILL on Linux
            Kills++;
            return true;
        }
    }

    /// <summary>The running process's id, or null between an end and the next start.</summary>
    public int? CurrentPid
    {
        get
        {
            lock (gate)
            {
                return current is { HasExited: false } running ? running.Id : null;
            }
        }
    }

    public int Hangs { get; private set; }

    /// <summary>Output lines so far, of every process started, that contain <paramref name="marker"/> (one named at construction).</summary>
    public int Seen(string marker) => Volatile.Read(ref seen[Array.IndexOf(counted, marker)]);

    /// <summary>Makes the running process hang (SIGSTOP: it keeps its sockets but answers nothing); its id, or null when none ran.</summary>
    public async Task<int?> PauseAsync()
    {
        if (CurrentPid is not { } pid || !await SignalAsync("STOP", pid))
        {
            return null;
        }

        Hangs++;
        Write($"=== torture: {name} pid {pid} stopped (SIGSTOP) at {DateTime.UtcNow:O}");
        return pid;
    }

    /// <summary>Lets a process that <see cref="PauseAsync"/> stopped go on (SIGCONT).</summary>
    public async Task ResumeAsync(int pid)
    {
        if (await SignalAsync("CONT", pid))
        {
            Write($"=== torture: {name} pid {pid} continued (SIGCONT) at {DateTime.UtcNow:O}");
        }
    }

    private static async Task<bool> SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        return kill.ExitCode == 0;
    }

    private async Task SuperviseAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            var poisonSeen = false;
            var process = new Process { StartInfo = startInfo() };
            process.OutputDataReceived += (_, line) => Write(line.Data);
            process.ErrorDataReceived += (_, line) =>
            {
                poisonSeen |= line.Data?.Contains(PoisonScorer.CrashMessage, StringComparison.Ordinal) == true;
                Write(line.Data);
            };
            lock (gate)
            {
                killedByRun = false;
                process.Start();
                current = process;
                Starts++;
            }

            Write($"=== torture: {name} start #{Starts} (pid {process.Id}) at {DateTime.UtcNow:O}");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await process.WaitForExitAsync(CancellationToken.None);
            lock (gate)
            {
                Write($"=== torture: {name} pid {process.Id} ended with {process.ExitCode}{(killedByRun ? " (SIGKILL by the run)" : string.Empty)}");
                if (!killedByRun && !stopping.IsCancellationRequested)
                {
                    if (poisonSeen)
                    {
                        PoisonCrashes++;
                    }
                    else
                    {
                        OtherExits.Add(process.ExitCode);
                    }
                }

                current = null;
            }

            process.Dispose();
        }
    }

    private async Task SampleAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            int? pid;
            lock (gate)
            {
                pid = current is { HasExited: false } running ? running.Id : null;
            }

            if (pid is { } id && PeakResidentBytes(id) is { } peak && peak > PeakHostBytes)
            {
                PeakHostBytes = peak;
            }

            try
            {
                await Task.Delay(250, stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>VmHWM of a process from /proc (its peak resident set so far), null once it is gone.</summary>
    public static long? PeakResidentBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void Write(string? line)
    {
        if (line is not null)
        {
            for (var i = 0; i < counted.Length; i++)
            {
                if (line.Contains(counted[i], StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref seen[i]);
                }
            }

            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        await stopping.CancelAsync();
        Kill();
        if (loop is not null)
        {
            await loop;
        }

        if (sampler is not null)
        {
            await sampler;
        }

        log.Dispose();
    }
}
