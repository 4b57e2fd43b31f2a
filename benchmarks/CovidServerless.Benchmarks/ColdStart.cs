using System.Diagnostics;
using System.Net.Http.Headers;
using CovidServerless.TestSupport;

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
        var worker = Path.Combine(settings.RepoRoot, "src", "CovidServerless.Worker", "bin", "Release", "net10.0", "linux-x64", "CovidServerless.Worker.dll");
        if (!File.Exists(worker))
        {
            Console.Error.WriteLine($"cold start skipped: build the worker first ({worker} is missing).");
            return null;
        }

        var url = $"http://127.0.0.1:{Azurite.FreePort()}";
        var start = new ProcessStartInfo("dotnet", [worker]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["Urls"] = url;
        start.Environment["Models__ManifestPath"] = settings.ManifestPath;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            while (!await ReadyAsync(http))
            {
                if (process.HasExited || clock.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new InvalidOperationException("The worker did not become ready.");
                }

                await Task.Delay(20);
            }

            var ready = clock.Elapsed.TotalSeconds;
            var first = Stopwatch.StartNew();
            (await http.PostAsync("/score/chest", Body(chest))).EnsureSuccessStatusCode();
            var firstScan = first.Elapsed.TotalSeconds;
            (await http.PostAsync("/score/ct", Body(ct))).EnsureSuccessStatusCode();
            return new ColdStartResult(ready, firstScan, PeakMemoryMB(process.Id));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static async Task<bool> ReadyAsync(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("/readyz")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static ByteArrayContent Body(byte[] image)
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
