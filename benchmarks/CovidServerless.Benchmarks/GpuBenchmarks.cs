using System.Globalization;
using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <param name="Scans">Scans scored by both providers (one at a time, so batching cannot blur the comparison).</param>
/// <param name="MaxProbabilityDifference">Largest |pCovid(CUDA) - pCovid(CPU)| over every model, the vote and every scan.</param>
/// <param name="VerdictsThatDiffer">Ensemble verdicts that differ between the providers.</param>
public sealed record ProviderAgreement(int Scans, double MaxProbabilityDifference, int VerdictsThatDiffer);

/// <summary>One run of the pipeline in front of the CUDA worker.</summary>
/// <param name="AzuritePerService">Azurite as one process per service, each with a JavaScript thread of its own;
/// otherwise one process, as <c>./run.sh</c> and the tests run it.</param>
/// <param name="IngestedAtOnce">Scans the host's watcher ingests at once (<c>ScanWatch:Concurrency</c>).</param>
public sealed record PipelineRun(string Label, bool AzuritePerService, int IngestedAtOnce, EndToEndResult EndToEnd);

/// <param name="BatchSize">Scans per model run.</param>
public sealed record ProviderPoint(int BatchSize, double CudaScansPerSecond, double CpuScansPerSecond);

/// <summary>
/// <c>covidscan bench --gpu</c>: the scoring worker's ensemble on CUDA against the same machine's CPU, in one run:
/// whether both give the same answers, one scan's latency, throughput per batch size, and a burst through the
/// batching scorer (the worker's path: decode and preprocessing on the CPU, model runs on the GPU). Needs a build
/// against ONNX Runtime's CUDA package (<c>-p:OnnxRuntimeGpu=true</c>) and a GPU with CUDA 13 and cuDNN 9 loadable.
/// </summary>
public static class GpuBenchmarks
{
    private const string LoneDefault = "CUDA, padded to 16 (default)";

    public static async Task<int> RunAsync(BenchSettings settings)
    {
        if (OnnxSessionFactory.CudaUnavailableReason() is { } reason)
        {
            // A GPU figure must be one: the catalog would fall back to the CPU.
            await Console.Error.WriteLineAsync($"covidscan bench --gpu: {reason}; build with -p:OnnxRuntimeGpu=true (covidscan bench --gpu does) on a machine with a CUDA GPU, CUDA 13 and cuDNN 9 on the library path.");
            return 3;
        }

        var c = CultureInfo.InvariantCulture;
        // The CPU gets both of its configurations (every core on one batch; the pipeline's default of two batches
        // at once) and the better one is compared, so the GPU's advantage is not overstated.
        var cudaOptions = new ModelOptions { ManifestPath = settings.ManifestPath, Provider = ExecutionProvider.Cuda };
        var cpuOptions = new ModelOptions { ManifestPath = settings.ManifestPath, MaxConcurrentScans = 1 };
        var cpuDefaultOptions = new ModelOptions { ManifestPath = settings.ManifestPath };
        using var cuda = new ModelCatalog(Options.Create(cudaOptions), NullLogger<ModelCatalog>.Instance);
        using var cpu = new ModelCatalog(Options.Create(cpuOptions), NullLogger<ModelCatalog>.Instance);
        using var cpuDefault = new ModelCatalog(Options.Create(cpuDefaultOptions), NullLogger<ModelCatalog>.Instance);
        if (new[] { cuda, cpu, cpuDefault }.FirstOrDefault(catalog => !catalog.IsReady) is { } notReady)
        {
            await Console.Error.WriteLineAsync("Models not ready: " + string.Join("; ", notReady.Problems));
            return 2;
        }

        Console.WriteLine($"covidscan bench --gpu{(settings.Quick ? " --quick (proves it runs; figures not meaningful)" : string.Empty)}");
        Console.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {BenchRunner.Cpu()}, {Environment.ProcessorCount} cores, models {settings.ManifestPath}");
        Console.WriteLine($"all eight models loaded: CUDA {cuda.LoadTime.TotalSeconds:F2} s, CPU {cpu.LoadTime.TotalSeconds:F2} s; the single-scan and batch figures use the CPU's {cpuOptions.EffectiveIntraOpThreads} threads per run");

        var decoder = new ScanDecoder();
        using var gpuRunner = BenchScoring.OneSlot(cuda);
        using var cpuRunner = BenchScoring.OneSlot(cpu);
        var perModality = new Dictionary<string, object>();
        var images = ModalityNames.All.ToDictionary(m => m, m => Samples.For(m, settings.DataFolder, settings.GpuSampleScans));
        foreach (var modality in ModalityNames.All)
        {
            var name = modality.ToName();
            var (onGpu, onCpu) = (cuda.For(modality), cpu.For(modality));
            var agreement = Agreement(decoder, (gpuRunner, onGpu), (cpuRunner, onCpu), images[modality]);
            Console.WriteLine($"\n== {name}: {images[modality].Count} scans{(settings.DataFolder is null ? " (generated)" : string.Empty)}");
            Console.WriteLine(string.Create(c, $"  CUDA vs CPU answers: largest pCovid difference {agreement.MaxProbabilityDifference:G3} over every model; {agreement.VerdictsThatDiffer} of {agreement.Scans} ensemble verdicts differ"));

            var gpuScan = InProcessBenchmarks.WholeScan(gpuRunner, decoder, onGpu, images[modality][0], settings.Runs);
            var cpuScan = InProcessBenchmarks.WholeScan(cpuRunner, decoder, onCpu, images[modality][0], settings.Runs);
            Console.WriteLine($"  one scan (decode + ensemble): CUDA {gpuScan}; CPU {cpuScan}");

            var points = settings.GpuBatchSizes
                .Select(size => new ProviderPoint(
                    size,
                    InProcessBenchmarks.Batch(gpuRunner, decoder, onGpu, images[modality], size, settings).ScansPerSecond,
                    InProcessBenchmarks.Batch(cpuRunner, decoder, onCpu, images[modality], size, settings).ScansPerSecond))
                .ToList();
            foreach (var point in points)
            {
                Console.WriteLine($"  batch {point.BatchSize,3} (preprocess + 4 models + vote): CUDA {point.CudaScansPerSecond,8:F1} scans/s, CPU {point.CpuScansPerSecond,7:F1} scans/s  ({point.CudaScansPerSecond / point.CpuScansPerSecond:F1}x)");
            }

            perModality[name] = new { agreement, wholeScanCuda = gpuScan, wholeScanCpu = cpuScan, batched = points };
        }

        var burst = Enumerable.Range(0, settings.GpuBurstScans)
            .Select(i => (Modality: ModalityNames.All[i % 2], Image: images[ModalityNames.All[i % 2]][i / 2 % images[ModalityNames.All[i % 2]].Count]))
            .ToList();
        Console.WriteLine($"\n== burst: {burst.Count} scans (chest and ct alternating) through the batching scorer, {settings.GpuBurstCallers} in flight, median of {settings.InProcessBurstRounds} after a warm-up burst (the process warmed first with {settings.WorkerWarmupScans} scans)");
        using (var warmRunner = new EnsembleRunner(cuda, decoder, Options.Create(cudaOptions)))
        await using (var warm = new BatchingScanScorer(warmRunner, Options.Create(new ScoringOptions()), Options.Create(cudaOptions), TimeProvider.System))
        {
            // The same warm-up as the worker over HTTP gets below, so that both are compared past tier-up JIT.
            await InProcessBenchmarks.WarmAsync(warm, burst, settings.WorkerWarmupScans, settings.GpuBurstCallers);
        }

        var bursts = new List<(string Label, bool OnCuda, BurstResult Result)>();
        var cudaOneAtATime = new ModelOptions { ManifestPath = settings.ManifestPath, Provider = ExecutionProvider.Cuda, MaxConcurrentScans = 1 };
        foreach (var (label, catalog, options, scoring) in new[]
        {
            ("CUDA, batches of up to 16 padded to 16, two at once (default)", cuda, cudaOptions, new ScoringOptions()),
            ("CUDA, batches of up to 16 unpadded, two at once", cuda, cudaOptions, new ScoringOptions { BatchPadding = BatchPadding.None }),
            ("CUDA, batches of up to 16 padded to 16, one at a time", cuda, cudaOneAtATime, new ScoringOptions()),
            ("CUDA, batches of up to 64 padded to 64, two at once", cuda, cudaOptions, new ScoringOptions { MaxBatchSize = 64 }),
            ("CPU, batches of up to 16, one at a time on every core", cpu, cpuOptions, new ScoringOptions()),
            ("CPU, batches of up to 16, two at once (default)", cpuDefault, cpuDefaultOptions, new ScoringOptions()),
        })
        {
            var started = DateTimeOffset.UtcNow;
            using var runner = new EnsembleRunner(catalog, decoder, Options.Create(options));
            await using var scorer = new BatchingScanScorer(runner, Options.Create(scoring), Options.Create(options), TimeProvider.System);
            var result = await InProcessBenchmarks.BurstAsync(scorer, burst, settings.GpuBurstCallers, settings.InProcessBurstRounds, settings.GpuBurstBudget);
            bursts.Add((label, catalog.OnCuda, result));
            Console.WriteLine($"  {started:HH:mm:ss} {label}: {result.ScansPerMinute,8:F0} scans/min, process CPU {result.CpuSeconds / result.Scans * 1000:F1} ms per scan, median of {result.Rounds}{(result.Rounds % 2 == 0 ? " (the slower middle one)" : string.Empty)}");
        }

        // What padding costs a scan that arrives alone: one caller, each scan scored before the next is sent.
        var alone = burst.Take(settings.GpuLoneScans).ToList();
        Console.WriteLine($"\n== one scan at a time: {alone.Count} scans through the batching scorer, one caller");
        var lone = new Dictionary<string, double>();
        foreach (var (label, catalog, options, scoring) in new[]
        {
            (LoneDefault, cuda, cudaOptions, new ScoringOptions()),
            ("CUDA, unpadded", cuda, cudaOptions, new ScoringOptions { BatchPadding = BatchPadding.None }),
            ("CPU (default)", cpuDefault, cpuDefaultOptions, new ScoringOptions()),
        })
        {
            using var runner = new EnsembleRunner(catalog, decoder, Options.Create(options));
            await using var scorer = new BatchingScanScorer(runner, Options.Create(scoring), Options.Create(options), TimeProvider.System);
            var result = await InProcessBenchmarks.BurstAsync(scorer, alone, callers: 1, settings.InProcessBurstRounds, settings.GpuBurstBudget);
            lone[label] = 60_000 / result.ScansPerMinute;
            Console.WriteLine($"  {label}: {lone[label],6:F1} ms per scan (time to result), median of {result.Rounds}{(result.Rounds % 2 == 0 ? " (the slower middle one)" : string.Empty)}");
        }

        // The worker as deployed: its own process, the hosts' HTTP client in front, against the in-process default.
        var inProcessDefault = bursts[0].Result;
        Console.WriteLine($"\n== the scoring worker over HTTP: its own process on CUDA, sent the burst by the hosts' remote-scoring client, {settings.GpuBurstCallers} in flight (warmed first with {settings.WorkerWarmupScans} scans)");
        var remote = await WorkerOverHttp.MeasureAsync(settings, ExecutionProvider.Cuda, burst, alone, settings.GpuBurstCallers);
        var remoteFraction = remote.Burst.ScansPerMinute / inProcessDefault.ScansPerMinute;
        Console.WriteLine($"  start to ready (eight models on CUDA, /metrics models_on_cuda {(remote.ModelsOnCuda ? 1 : 0)}): {remote.StartToReadySeconds:F2} s");
        Console.WriteLine($"  burst: {remote.Burst.ScansPerMinute,8:F0} scans/min, median of {remote.Burst.Rounds}{(remote.Burst.Rounds % 2 == 0 ? " (the slower middle one)" : string.Empty)} -> {remoteFraction:P0} of the in-process default above; CPU per scan: worker {remote.WorkerCpuMsPerScan:F1} ms, sender {remote.Burst.CpuSeconds / remote.Burst.Scans * 1000:F1} ms");
        Console.WriteLine($"  one scan at a time: {remote.LoneScanMs,6:F1} ms per scan (time to result over HTTP; in process above: {lone[LoneDefault]:F1} ms)");

        var (pipeline, _) = await PipelineWithWorkerAsync(settings, burst);
        double Fraction(PipelineRun run) => run.EndToEnd.SteadyScansPerMinute / inProcessDefault.ScansPerMinute;
        var pipelineFraction = pipeline is [var asDeployed, ..] ? Fraction(asDeployed) : (double?)null;
        var bestPipeline = pipeline?.MaxBy(run => run.EndToEnd.SteadyScansPerMinute);
        var bestPipelineFraction = bestPipeline is null ? (double?)null : Fraction(bestPipeline);
        string Percent(double? fraction) => fraction is { } f ? f.ToString("P0", c) : "skipped";

        var bestGpuBurst = bursts.Where(b => b.OnCuda).Max(b => b.Result.ScansPerMinute);
        var cpuBurst = bursts.Where(b => !b.OnCuda).Max(b => b.Result.ScansPerMinute);
        Console.WriteLine(string.Create(c, $"\n== summary\n  gpuSpeedupOverCpu {bestGpuBurst / cpuBurst:F1}x  (burst: best CUDA configuration / best CPU configuration, same machine)\n  workerOverHttpFraction {remoteFraction:P0}  (burst: the worker over HTTP / the default configuration in process)\n  pipelineWithWorkerFraction {Percent(pipelineFraction)}  (steady rate: local host + Azurite + the worker / the default configuration in process)\n  pipelineWithWorkerBestFraction {Percent(bestPipelineFraction)}  (the same, the fastest of its runs{(bestPipeline is null ? string.Empty : ": " + bestPipeline.Label)})"));
        if (settings.JsonPath is not null)
        {
            var report = new
            {
                gpuSpeedupOverCpu = bestGpuBurst / cpuBurst,
                workerOverHttpFraction = remoteFraction,
                machine = new { cpu = BenchRunner.Cpu(), cores = Environment.ProcessorCount, date = DateTimeOffset.UtcNow, quick = settings.Quick },
                loadSeconds = new { cuda = cuda.LoadTime.TotalSeconds, cpu = cpu.LoadTime.TotalSeconds },
                modalities = perModality,
                bursts = bursts.ToDictionary(b => b.Label, b => b.Result),
                oneScanAtATimeMs = lone,
                workerOverHttp = new { result = remote, fractionOfInProcess = remoteFraction },
                pipelineWithWorkerFraction = pipelineFraction,
                pipelineWithWorkerBestFraction = bestPipelineFraction,
                // Every run, the first as deployed (pipelineWithWorkerFraction's); null when the section was skipped.
                pipelineWithWorker = pipeline?.Select(run => new { run.Label, run.AzuritePerService, run.IngestedAtOnce, fractionOfInProcess = Fraction(run), run.EndToEnd }),
            };
            await File.WriteAllTextAsync(settings.JsonPath, JsonSerializer.Serialize(report, BenchRunner.Json));
            Console.WriteLine($"\nwrote {settings.JsonPath}");
        }

        return 0;
    }

    /// <summary>
    /// The deployed shape on one machine: the local host (its watcher, downloads and result writes against Azurite) in
    /// front of the CUDA worker, every scan scored by the worker. First as deployed (one Azurite process, the host's
    /// default ingestion), then with each of the two things that could hold it back lifted: Azurite, whose JavaScript
    /// runs on one thread per process, as one process per service (as Azure serves them apart), and the scans the host
    /// ingests at once, which bound its rate by the time each scan spends in it. Where it cannot run as asked (no Azurite
    /// or Node.js on a lent GPU machine; a worker whose models fell back to the CPU) it is skipped, with the reason
    /// printed and returned, so that the GPU figures before it still get reported.
    /// </summary>
    /// <param name="provider">The worker's models' provider: CUDA; the CPU only for tests, which prove the section runs.</param>
    internal static async Task<(List<PipelineRun>? Runs, string? Skipped)> PipelineWithWorkerAsync(
        BenchSettings settings, List<(Modality Modality, byte[] Image)> burst, ExecutionProvider provider = ExecutionProvider.Cuda)
    {
        var models = new ModelOptions();
        var (ingestAtOnce, concurrentScans) = (new ScanWatchOptions().ScansIngestedAtOnce(new ScoringOptions { Mode = ScoringMode.Remote }, models), models.MaxConcurrentScans);
        Console.WriteLine($"\n== the pipeline in front of the {(provider == ExecutionProvider.Cuda ? "CUDA" : "CPU")} worker: local host (Scoring:Mode=Remote) + Azurite, {burst.Count} scans uploaded in a burst after a warm-up burst; each run a fresh worker, warmed first with {settings.WorkerWarmupScans} scans, a fresh host and a fresh Azurite");
        var runs = new List<PipelineRun>();
        foreach (var (perService, atOnce) in new[] { (false, ingestAtOnce), (false, settings.GpuBurstCallers), (true, ingestAtOnce), (true, settings.GpuBurstCallers) })
        {
            var label = $"Azurite as {(perService ? "one process per service" : "one process")}, {atOnce} scans ingested at once{(atOnce == ingestAtOnce ? " (the host's default)" : string.Empty)}";
            var started = DateTimeOffset.UtcNow;
            try
            {
                var result = await new StorageBenchmarks(settings).EndToEndAsync(burst, batchInProcess: true, atOnce, concurrentScans, scoringWorker: provider, azuritePerService: perService);
                runs.Add(new PipelineRun(label, perService, atOnce, result));
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException or HttpRequestException)
            {
                // The first run is the section's figure: without it, skip the rest (what stopped it would stop them).
                // A later one that fails costs only its own line, not the runs before it.
                Console.WriteLine($"  {(runs.Count == 0 ? "skipped" : label + ": skipped")}: {e.Message}");
                if (runs.Count == 0)
                {
                    return (null, e.Message);
                }

                continue;
            }

            var run = runs[^1].EndToEnd;
            var azurite = string.Join(", ", run.AzuriteProcesses.Select(p => $"{p.Name} {p.MainThreadBusy:P0}"));
            Console.WriteLine($"  {started:HH:mm:ss} {label} ({(DateTimeOffset.UtcNow - started).TotalSeconds:F0} s with its starts and warm-ups): steady {run.SteadyScansPerMinute:F0} scans/min (first upload to last result {run.ScansPerMinute:F0}), time to result p50 {run.P50TimeToResultSeconds:F2} s, p95 {run.P95TimeToResultSeconds:F2} s");
            Console.WriteLine($"    CPU per scan: Azurite {run.AzuriteCpuSeconds / run.Scans * 1000:F1} ms, host {run.HostCpuSeconds / run.Scans * 1000:F1} ms, worker {run.WorkerCpuSeconds / run.Scans * 1000:F1} ms; between the first and the last result all cores {run.MachineBusy:P0} busy and Azurite's main thread{(perService ? "s" : string.Empty)} {azurite} (it runs the JavaScript: near 100%, the emulator set the rate)");
        }

        return (runs, null);
    }

    private static ProviderAgreement Agreement(
        ScanDecoder decoder, (EnsembleRunner Runner, ModalityModels Models) onGpu, (EnsembleRunner Runner, ModalityModels Models) onCpu, IReadOnlyList<byte[]> images)
    {
        var largest = 0.0;
        var differ = 0;
        foreach (var image in images)
        {
            using var scan = decoder.Decode(image);
            var gpu = BenchScoring.ScoreDecoded(onGpu.Runner, onGpu.Models, [scan])[0];
            var cpu = BenchScoring.ScoreDecoded(onCpu.Runner, onCpu.Models, [scan])[0];
            var differences = gpu.Models.Zip(cpu.Models, (g, p) => Math.Abs(g.PCovid - p.PCovid)).Append(Math.Abs(gpu.PCovid - cpu.PCovid));
            largest = Math.Max(largest, differences.Max());
            differ += gpu.Verdict == cpu.Verdict ? 0 : 1;
        }

        return new ProviderAgreement(images.Count, largest, differ);
    }
}
