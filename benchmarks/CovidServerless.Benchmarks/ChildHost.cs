using System.Diagnostics;
using CovidServerless.DevTools;

namespace CovidServerless.Benchmarks;

/// <summary>
/// One of the project's hosts (local host or scoring worker) as its own process, configured by
/// environment variables as a user would, on a free loopback port. Disposing kills it.
/// </summary>
public sealed class ChildHost : IAsyncDisposable
{
    private static readonly string[] Configurations = ["Release", "Debug"];
    private readonly Process process;

    private ChildHost(Process process, Uri url, TimeSpan startToReady)
    {
        this.process = process;
        Url = url;
        StartToReady = startToReady;
    }

    public Uri Url { get; }

    public int ProcessId => process.Id;

    /// <summary>Process start until the ready path first answered 200.</summary>
    public TimeSpan StartToReady { get; }

    /// <summary>
    /// The host's build, e.g. "CovidServerless.Worker": first one beside this benchmark's own in an artifacts layout
    /// (covidscan bench --gpu builds every project against ONNX Runtime's CUDA package there), else the project's
    /// Release or Debug build; null when it has not been built.
    /// </summary>
    public static string? Build(BenchSettings settings, string project)
    {
        var thisBuild = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory);
        var besideThisBuild = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(thisBuild)!)!, project, Path.GetFileName(thisBuild), project + ".dll");
        return Configurations.Select(configuration => Path.Combine(settings.RepoRoot, "src", project, "bin", configuration, "net10.0", "linux-x64", project + ".dll"))
                             .Prepend(besideThisBuild)
                             .FirstOrDefault(File.Exists);
    }

    public static async Task<ChildHost> StartAsync(string dll, string readyPath, IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var url = new Uri($"http://127.0.0.1:{Azurite.FreePort()}");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        start.Environment["Urls"] = url.ToString().TrimEnd('/');
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var http = new HttpClient { BaseAddress = url };
        var clock = Stopwatch.StartNew();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        while (!await ReadyAsync(http, readyPath))
        {
            if (process.HasExited || clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
                throw new InvalidOperationException($"{Path.GetFileNameWithoutExtension(dll)} did not become ready.");
            }

            await Task.Delay(20);
        }

        return new ChildHost(process, url, clock.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    private static async Task<bool> ReadyAsync(HttpClient http, string path)
    {
        try
        {
            return (await http.GetAsync(path)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
