using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CovidServerless.DevTools;

/// <summary>
/// A private Azurite (blob, queue, table) on free loopback ports with in-memory data (or data on disk in
/// <see cref="DataFolder"/>), started from the repository's pinned npm install by <see cref="StartAsync"/> and stopped
/// on dispose. Tests use it through an xunit fixture (TestSupport's AzuriteFixture); the benchmark and the torture
/// run start their own.
/// </summary>
public class Azurite : IAsyncDisposable
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly string[] Quiet = ["--skipApiVersionCheck", "--disableTelemetry"];
    private readonly List<(string Name, Process Process)> processes = [];

    /// <summary>Generous: on a shared machine under heavy load Node.js can take tens of seconds to start.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Serve blobs, queues and tables from three processes (<c>azurite-blob</c>, <c>azurite-queue</c>,
    /// <c>azurite-table</c>) instead of one. Each runs its JavaScript on a thread of its own, so on many cores the
    /// emulator is no longer one thread's worth of storage (for benchmarks; on two cores it costs more CPU per scan).
    /// </summary>
    public bool OneProcessPerService { get; init; }

    /// <summary>
    /// The emulator's processes by name ("azurite", or "blob", "queue" and "table" with
    /// <see cref="OneProcessPerService"/>), for CPU accounting in benchmarks; empty before start.
    /// </summary>
    public IReadOnlyDictionary<string, int> ProcessIds => processes.ToDictionary(p => p.Name, p => p.Process.Id);

    /// <summary>Keep Azurite's access log (one line per request) in <see cref="Requests"/>; costs Azurite CPU.</summary>
    public bool LogRequests { get; init; }

    /// <summary>Access-log lines (method and path of each request) when <see cref="LogRequests"/> is set.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>
    /// Keep the data in this folder instead of in memory, so that it outlives a <see cref="RestartAsync"/> (the
    /// torture run stops storage mid-burst); null: in memory.
    /// </summary>
    public string? DataFolder { get; init; }

    public int BlobPort { get; private set; } = FreePort();

    public int QueuePort { get; private set; } = FreePort();

    public int TablePort { get; private set; } = FreePort();

    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    /// <summary>The development account's connection string for services on these loopback ports.</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        $"AccountKey={Key};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;" +
        $"QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";

    public async Task StartAsync()
    {
        var bin = Path.Combine(RepoPaths.Root, "node_modules", ".bin");
        if (!File.Exists(Path.Combine(bin, "azurite")))
        {
            throw new InvalidOperationException($"Azurite is not installed in {bin}: run 'npm ci' in the repository root (./test.sh does).");
        }

        // A port found free can be taken (e.g. as another connection's ephemeral port) before Azurite binds it;
        // Azurite then exits at once, and a start on fresh ports succeeds.
        for (var attempt = 1; ; attempt++)
        {
            var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
            foreach (var (name, executable, arguments) in Services())
            {
                processes.Add((name, Start(Path.Combine(bin, executable), arguments, errors)));
            }

            var outcome = await WaitUntilListeningAsync();
            if (outcome is null)
            {
                return;
            }

            Stop();
            if (!outcome.Value.Exited || attempt == 3)
            {
                var detail = string.Join(" | ", errors.TakeLast(5));
                throw new InvalidOperationException($"Azurite did not listen on port {outcome.Value.Port} within {(int)StartTimeout.TotalSeconds} s (attempt {attempt}). {detail}");
            }

            (BlobPort, QueuePort, TablePort) = (FreePort(), FreePort(), FreePort());
        }
    }

    private IEnumerable<(string Name, string Executable, string[] Arguments)> Services()
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string[] blob = ["--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(c)];
        string[] queue = ["--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(c)];
        string[] table = ["--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(c)];
        return OneProcessPerService
            ? [("blob", "azurite-blob", blob), ("queue", "azurite-queue", queue), ("table", "azurite-table", table)]
            : [("azurite", "azurite", [.. blob, .. queue, .. table])];
    }

    private Process Start(string executable, string[] serviceArguments, System.Collections.Concurrent.ConcurrentQueue<string> errors)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!LogRequests)
        {
            start.ArgumentList.Add("--silent");
        }

        string[] persistence = DataFolder is null ? ["--inMemoryPersistence"] : ["--location", DataFolder];
        foreach (var arg in persistence.Concat(Quiet).Concat(serviceArguments))
        {
            start.ArgumentList.Add(arg);
        }

        var started = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
        started.OutputDataReceived += (_, line) =>
        {
            if (LogRequests && line.Data?.Contains(" HTTP/", StringComparison.Ordinal) == true)
            {
                Requests.Enqueue(line.Data);
            }
        };
        started.ErrorDataReceived += (_, line) =>
        {
            if (!string.IsNullOrWhiteSpace(line.Data))
            {
                errors.Enqueue(line.Data);
            }
        };
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        return started;
    }

    /// <returns>Null once all three ports listen; otherwise the port that did not, and whether an Azurite process exited.</returns>
    private async Task<(int Port, bool Exited)?> WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        bool AnyExited() => processes.Any(p => p.Process.HasExited);
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await IsListeningAsync(port))
            {
                if (AnyExited() || DateTime.UtcNow > deadline)
                {
                    return (port, AnyExited());
                }

                await Task.Delay(100);
            }
        }

        // Listening, but not Azurite: it exited, and another process holds the port.
        return AnyExited() ? (BlobPort, true) : null;
    }

    /// <summary>
    /// Stops the emulator the way an operator does (SIGTERM: it saves its data and closes its ports), then starts it
    /// again on the same ports; with <see cref="DataFolder"/> the data is still there.
    /// </summary>
    /// <returns>How long storage was down.</returns>
    public async Task<TimeSpan> RestartAsync(TimeSpan downFor)
    {
        var clock = Stopwatch.StartNew();
        foreach (var (_, process) in processes)
        {
            using var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
            using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(stopped.Token);
            }
            catch (OperationCanceledException)
            {
                // It did not stop in time: kill it, as a crashed emulator would be.
            }
        }

        Stop();
        await Task.Delay(downFor);
        await StartAsync();
        return clock.Elapsed;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        foreach (var (_, process) in processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }

            process.Dispose();
        }

        processes.Clear();
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A loopback port free now, drawn at random from 20000-31999: below the system's ephemeral range (32768-60999 on
    /// Linux), from which the outgoing connections of every process here and every bind to port 0 take their ports,
    /// so none of those can take it before the caller binds it (a port from bind(0) could be, and a clean-clone run
    /// once lost a worker's port that way); only another draw from here can, at odds of about one in 12,000.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) when (attempt < 200)
            {
                // Taken: draw again.
            }
        }
    }
}
