using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Benchmarks;

/// <param name="StartToReadySeconds">Worker process start until /readyz first answered 200 (all eight models loaded).</param>
/// <param name="ModelsOnCuda">What the worker's /metrics reported (covidscan_models_on_cuda).</param>
/// <param name="Burst">The burst as its sender saw it; its CpuSeconds are the sender's (the hosts' HTTP client).</param>
/// <param name="WorkerCpuMsPerScan">The worker process's CPU per scan over the timed bursts and the warm-up burst before them.</param>
/// <param name="LoneScanMs">Time to result of a scan sent alone (one caller, each answer awaited before the next scan).</param>
public sealed record WorkerOverHttpResult(double StartToReadySeconds, bool ModelsOnCuda, BurstResult Burst, double WorkerCpuMsPerScan, double LoneScanMs);

/// <summary>
/// The scoring worker as deployed: its own process, sent scans over HTTP by the client the Functions app and the
/// local host use for Scoring:Mode=Remote (with its resilience pipeline, no in-process fall-back), so that the
/// figures include HTTP, the worker's hosting and its batching.
/// </summary>
public static class WorkerOverHttp
{
    public static async Task<WorkerOverHttpResult> MeasureAsync(
        BenchSettings settings, ExecutionProvider provider, IReadOnlyList<(Modality Modality, byte[] Image)> burst, IReadOnlyList<(Modality Modality, byte[] Image)> alone, int callers)
    {
        var dll = ChildHost.Build(settings, "CovidServerless.Worker")
            ?? throw new InvalidOperationException("Build the scoring worker first (covidscan bench --gpu builds it).");
        await using var worker = await ChildHost.StartAsync(dll, "/readyz", new Dictionary<string, string>
        {
            ["Models__ManifestPath"] = settings.ManifestPath,
            ["WorkerAuth__DisabledForLocalDevelopment"] = "true", // ChildHost listens on 127.0.0.1
            ["Models__Provider"] = provider.ToString(),
        }, settings.RepoRoot);
        var onCuda = await EnsureModelsOnAsync(worker.Url, provider);

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = nameof(ScoringMode.Remote),
            ["Scoring:RemoteEndpoint"] = worker.Url.ToString(),
            ["Scoring:FallbackToInProcess"] = "false",
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();
        var sender = services.GetRequiredService<IScanScorer>();

        // Past the worker's tier-up JIT first, as a long-running worker is.
        await InProcessBenchmarks.WarmAsync(sender, burst, settings.WorkerWarmupScans, callers);

        var workerCpu = ProcessCpu.Seconds(worker.ProcessId);
        var result = await InProcessBenchmarks.BurstAsync(sender, burst, callers, settings.InProcessBurstRounds, settings.GpuBurstBudget);
        workerCpu = ProcessCpu.Seconds(worker.ProcessId) - workerCpu;
        var scansSent = burst.Count * (result.Rounds + 1); // BurstAsync's own warm-up burst included

        var lone = await InProcessBenchmarks.BurstAsync(sender, alone, callers: 1, settings.InProcessBurstRounds, settings.GpuBurstBudget);
        return new WorkerOverHttpResult(worker.StartToReady.TotalSeconds, onCuda, result, workerCpu / scansSent * 1000, 60_000 / lone.ScansPerMinute);
    }

    /// <summary>Whether the worker's models run on CUDA, from its /metrics; throws where that is not the provider asked for.</summary>
    internal static async Task<bool> EnsureModelsOnAsync(Uri worker, ExecutionProvider provider)
    {
        using var http = new HttpClient { BaseAddress = worker };
        var metrics = await http.GetStringAsync("/metrics");
        var onCuda = metrics.Split('\n').Any(line => line.StartsWith("covidscan_models_on_cuda", StringComparison.Ordinal) && line.Split(' ')[1] == "1");
        if (onCuda != (provider == ExecutionProvider.Cuda))
        {
            // A worker that fell back to the CPU would report CPU figures as GPU ones.
            throw new InvalidOperationException($"The worker was asked for {provider} but reports models_on_cuda {(onCuda ? 1 : 0)}.");
        }

        return onCuda;
    }
}
