using System.Diagnostics;
using System.Net.Http.Headers;

namespace CovidServerless.Benchmarks;

public sealed record ColdStartResult(double StartToReadySeconds, double FirstScanSeconds, double PeakMemoryMB);

/// <summary>
/// Starts the scoring worker as a fresh process (the same core, all eight models) and measures process start to
/// ready (/readyz), the first scan of each modality, and the process's peak resident memory (VmHWM).
/// </summary>
public static class ColdStart
{
    public static async Task<ColdStartResult?> MeasureAsync(BenchSettings settings, byte[] chest, byte[] ct)
    {
        if (ChildHost.Build(settings, "CovidServerless.Worker") is not { } worker)
        {
            Console.Error.WriteLine("cold start skipped: build the worker first (dotnet build src/CovidServerless.Worker -c Release).");
            return null;
        }

        await using var host = await ChildHost.StartAsync(worker, "/readyz", new Dictionary<string, string>
        {
            ["Models__ManifestPath"] = settings.ManifestPath,
            ["WorkerAuth__DisabledForLocalDevelopment"] = "true", // ChildHost listens on 127.0.0.1
        }, settings.RepoRoot);
        using var http = new HttpClient { BaseAddress = host.Url };
        var first = Stopwatch.StartNew();
        (await http.PostAsync("/score/chest", Body(chest))).EnsureSuccessStatusCode();
        var firstScan = first.Elapsed.TotalSeconds;
        (await http.PostAsync("/score/ct", Body(ct))).EnsureSuccessStatusCode();
        return new ColdStartResult(host.StartToReady.TotalSeconds, firstScan, PeakMemoryMB(host.ProcessId));
    }

    /// <summary>A scan as the worker's POST /score/{modality} takes it.</summary>
    internal static ByteArrayContent Body(byte[] image)
    {
        var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static double PeakMemoryMB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}
