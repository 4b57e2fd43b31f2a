using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <summary>Runs every section in one process, prints a table and writes the JSON report.</summary>
public static class BenchRunner
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<int> RunAsync(BenchSettings settings)
    {
        var c = CultureInfo.InvariantCulture;
        // One scan or batch at a time with every core per model run; two at once is measured in its own section.
        var options = new ModelOptions { ManifestPath = settings.ManifestPath, MaxConcurrentScans = 1 };
        using var catalog = new ModelCatalog(Options.Create(options), NullLogger<ModelCatalog>.Instance);
        if (!catalog.IsReady)
        {
            await Console.Error.WriteLineAsync("Models not ready: " + string.Join("; ", catalog.Problems));
            return 2;
        }

        Console.WriteLine($"covidscan bench{(settings.Quick ? " --quick (proves it runs; figures not meaningful)" : string.Empty)}");
        Console.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Cpu()}, {Environment.ProcessorCount} cores, intra-op threads {options.EffectiveIntraOpThreads}, models {settings.ManifestPath}");
        var images = ModalityNames.All.ToDictionary(m => m, m => Samples.For(m, settings.DataFolder, 16));
        var inProcess = new InProcessBenchmarks(settings, catalog);
        var report = new Dictionary<string, object?>();
        var perModality = new Dictionary<string, object>();
        var limitFractions = new List<double>();
        var bestRates = new List<double>();
        var speedups = new List<double>();
        var loneSpeedups = new List<double>();

        using var probe = new MatMulRate(options, settings.MatMulSize);
        var (gflops, matmul) = probe.Measure(settings.Runs * 2);
        Console.WriteLine($"\nmachine limit: dense {settings.MatMulSize}x{settings.MatMulSize} MatMul through ONNX Runtime: {gflops:F1} GFLOP/s at its fastest run ({matmul})");

        var spinningOptions = new ModelOptions { ManifestPath = settings.ManifestPath, MaxConcurrentScans = 1, AllowSpinning = true };
        using var spinning = new ModelCatalog(Options.Create(spinningOptions), NullLogger<ModelCatalog>.Instance);
        foreach (var modality in ModalityNames.All)
        {
            var name = modality.ToName();
            var sample = images[modality][0];
            Console.WriteLine($"\n== {name}: one scan ({sample.Length:N0} bytes), per stage (BenchmarkDotNet: median and IQR of {(settings.Quick ? 1 : 7)} iterations; managed memory allocated per run)");
            var stages = StageBenchmarks.Run(new StageSetup(catalog, options, spinning, modality, sample), settings.Quick).ToDictionary(s => s.Stage);
            foreach (var stage in stages.Values.Where(s => s.Stage is not ("whole scan spinning" or "seed's way")))
            {
                var note = stage.Stage switch { "ensemble" => "   (preprocess + 4 models + vote)", "whole scan" => "   (decode + ensemble)", _ => string.Empty };
                Console.WriteLine($"  {stage.Stage,-15} {stage.Time}  {stage.AllocatedBytes / 1024.0,7:F1} KB{note}");
            }

            Console.WriteLine($"  whole scan, ONNX Runtime threads spinning: {stages["whole scan spinning"].Time}");

            var flops = catalog.For(modality).Models.Sum(m => OnnxFlops.PerImage(Path.Combine(Path.GetDirectoryName(catalog.ManifestPath)!, m.Entry.File), m.Entry.Input));
            var limit = flops > 0 ? gflops * 1e9 / flops : double.NaN;
            var batched = inProcess.Batched(modality, images[modality]);
            Console.WriteLine($"  ensemble work {flops / 1e9:F3} GFLOP/scan -> limit {limit:F1} scans/s");
            foreach (var point in batched)
            {
                Console.WriteLine($"  batch {point.BatchSize,2}: {point.ScansPerSecond,7:F1} scans/s  {point.Timing}  = {point.ScansPerSecond / limit:P0} of limit");
            }

            var best = batched.MaxBy(p => p.ScansPerSecond)!;
            var serial = inProcess.BatchedWithSerialPreprocessing(modality, images[modality], best.BatchSize);
            Console.WriteLine($"  batch {best.BatchSize,2} with its scans preprocessed one after another: {serial:F1} scans/s (parallel: {best.ScansPerSecond:F1})");
            double Parallel(int batchSize, int batchesEach)
            {
                using var batches = new ParallelBatches(settings.ManifestPath, modality, images[modality], 2, batchSize);
                return batches.Measure(batchesEach);
            }

            var parallel = Parallel(1, settings.Quick ? 2 : 8);
            Console.WriteLine($"  2 scans in parallel (1 thread each): {parallel:F1} scans/s");
            var parallelBatches = settings.BatchSizes.Where(b => b > 1).ToDictionary(b => b, b => Parallel(b, settings.Quick ? 1 : Math.Max(2, 32 / b)));
            Console.WriteLine($"  2 batches in parallel (1 thread each, the pipeline's default): {string.Join(", ", parallelBatches.Select(p => $"batch {p.Key} {p.Value:F1}"))} scans/s");

            // The limit fraction is taken at the best configuration seen above: one batch at a time or two at once.
            var (bestParallelSize, bestParallelRate) = parallelBatches.MaxBy(p => p.Value);
            using var twoAtOnce = bestParallelRate > best.ScansPerSecond ? new ParallelBatches(settings.ManifestPath, modality, images[modality], 2, bestParallelSize) : null;
            var limitConfiguration = twoAtOnce is null ? $"one batch of {best.BatchSize} at a time" : $"2 batches of {bestParallelSize} at once";
            var (fraction, probeRates) = inProcess.LimitFraction(
                twoAtOnce is null ? inProcess.OneBatchAtATime(modality, images[modality], best.BatchSize) : () => twoAtOnce.Measure(Math.Max(1, 16 / bestParallelSize)),
                flops,
                probe);
            Console.WriteLine($"  best ({limitConfiguration}) vs limit, {fraction.Rounds} rounds alternating with the MatMul probe: {fraction.Median:P0} of limit (IQR {fraction.P25:P0}-{fraction.P75:P0}; probe {probeRates.Median:F0} GFLOP/s, IQR {probeRates.P25:F0}-{probeRates.P75:F0})");
            var seed = stages["seed's way"].Time;
            var speedup = seed.MedianMs / stages["whole scan"].Time.MedianMs;
            Console.WriteLine($"  seed's way (load 4 models per scan): {seed}  -> warm pipeline is {speedup:F1}x faster");
            var lone = await inProcess.LoneScansAsync(modality, sample);
            var loneSpeedup = seed.MedianMs / lone.InProcess.MedianMs;
            Console.WriteLine($"  a lone scan (decode to score) through the pipeline's scorers, default configuration (its 4 models 2 at a time, 1 thread each): in process {lone.InProcess}, batching {lone.Batching} -> seed's way / in process = {loneSpeedup:F1}x");

            limitFractions.Add(fraction.Median);
            bestRates.Add(Math.Max(best.ScansPerSecond, bestParallelRate));
            speedups.Add(speedup);
            loneSpeedups.Add(loneSpeedup);
            perModality[name] = new
            {
                stages = stages.Values,
                gflopPerScan = flops / 1e9,
                limitScansPerSecond = limit,
                batched,
                bestBatchSize = best.BatchSize,
                bestScansPerSecond = best.ScansPerSecond,
                bestBatchWithSerialPreprocessingScansPerSecond = serial,
                limitConfiguration,
                limitFraction = fraction,
                limitProbeGflopsPerSecond = probeRates,
                parallelScansPerSecond = parallel,
                parallelBatchesScansPerSecond = parallelBatches,
                seedPerScan = seed,
                speedupVsPerScanLoading = speedup,
                loneScanInProcess = lone.InProcess,
                loneScanBatching = lone.Batching,
                speedupVsPerScanLoadingLoneScan = loneSpeedup,
            };
        }

        await using var azurite = new Azurite();
        await azurite.InitializeAsync();
        var storage = new StorageBenchmarks(settings, azurite);
        var (table, queue) = await storage.WritesAsync();
        Console.WriteLine($"\n== storage (Azurite on loopback)\n  table write     {table}   (one transaction: ensemble + 4 model rows, plus timeline row)\n  queue send      {queue}");
        var burst = Enumerable.Range(0, settings.EndToEndScans)
            .Select(i => (Modality: ModalityNames.All[i % 2], Image: images[ModalityNames.All[i % 2]][i / 2 % images[ModalityNames.All[i % 2]].Count]))
            .ToList();
        Console.WriteLine($"\n== end to end (local host + Azurite, {burst.Count} scans uploaded in a burst, chest and ct alternating, after a warm-up burst; each configuration in a fresh host process and Azurite)");
        var variants = new List<(string Name, EndToEndResult Result, BurstResult InProcess)>();
        var configurations = new (string Name, bool Batch, int IngestConcurrency, int ConcurrentScans)[]
        {
            ("default (batched, 2 batches at once with 1 thread each, 16 scans ingested at once)", true, 16, 2),
            ("batched, one batch at a time with 2 threads (Models:MaxConcurrentScans=1)", true, 16, 1),
            ("unbatched, 2 scans at once with 1 thread each, 8 scans ingested at once", false, 8, 2),
            ("unbatched, one scan at a time with 2 threads, 8 scans ingested at once", false, 8, 1),
        };
        // Untimed: the first burst in this process ran the benchmark's own client code (uploads, reads of the results
        // queue) before the JIT had optimised it, at 5.8 ms of CPU per scan on the cores the pipeline shares against
        // 0.5-1.4 ms in later bursts, which held the first configuration measured (the default) about 15% down.
        var (_, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans) = configurations[0];
        await storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans);
        void Report(string name, EndToEndResult result, BurstResult reference)
        {
            variants.Add((name, result, reference));
            Console.WriteLine($"  {name}: burst {result.ScansPerMinute:F0} scans/min, steady {result.SteadyScansPerMinute:F0} scans/min; time to result p50 {result.P50TimeToResultSeconds:F2} s, p95 {result.P95TimeToResultSeconds:F2} s; CPU during the burst: Azurite {result.AzuriteCpuSeconds:F1} s, pipeline host {result.HostCpuSeconds:F1} s, this benchmark's client {result.ClientCpuSeconds:F1} s over {result.Seconds:F1} s x {Environment.ProcessorCount} cores ({result.AzuriteCpuSeconds / result.Scans * 1000:F0}, {result.HostCpuSeconds / result.Scans * 1000:F0} and {result.ClientCpuSeconds / result.Scans * 1000:F1} ms per scan), all cores {result.MachineBusy:P0} busy between the first and last result; host start to ready {result.HostStartToReadySeconds:F1} s");
            Console.WriteLine($"    same scans and scorer in this process, no storage or triggers ({(reference.Rounds == 1 ? "one burst" : $"median of {reference.Rounds}")} after a warm-up burst): {reference.ScansPerMinute:F0} scans/min, CPU {reference.CpuSeconds:F1} s, {reference.AllocatedKBPerScan:F0} KB allocated per scan, {reference.FullCollections} full GCs -> end to end (steady) is {result.SteadyScansPerMinute / reference.ScansPerMinute:P0} of it");
        }

        Task<BurstResult> DefaultInProcess() =>
            InProcessBurstAsync(catalog, settings.ManifestPath, burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, rounds: 1);
        var defaultRounds = await PairedRoundsAsync(
            settings.EndToEndRounds, DefaultInProcess, () => storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans));
        var fractionSpread = Spread.Of([.. defaultRounds.Select(r => r.Fraction)]);
        PrintRounds("default", defaultRounds);
        var median = EndToEndRound.Median(defaultRounds);
        Report(configurations[0].Name, median.EndToEnd, median.InProcess);
        foreach (var (name, batch, concurrency, concurrentScans) in configurations.Skip(1).Take(settings.Quick ? 0 : configurations.Length))
        {
            var reference = await InProcessBurstAsync(catalog, settings.ManifestPath, burst, batch, concurrency, concurrentScans, settings.InProcessBurstRounds);
            Report(name, await storage.EndToEndAsync(burst, batch, concurrency, concurrentScans), reference);
        }

        // A separate run with Azurite logging every request: the census, not timed (the logging costs Azurite CPU).
        var census = (await storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, countRequests: true)).Requests!;
        Console.WriteLine($"  storage requests during the default configuration's burst (another run, Azurite logging requests): {census}");

        // Like for like: the default configuration end to end against the same scans through the same scorer in
        // this process (its median round), so the fraction is what storage and triggers cost. The stricter ratio,
        // against the ensemble alone at its best batch size (no decoding, scans ready in memory), is reported beside it.
        var (_, endToEnd, sameBurstInProcess) = variants[0];
        var endToEndFraction = endToEnd.SteadyScansPerMinute / sameBurstInProcess.ScansPerMinute;
        var bestInProcessRate = bestRates.DefaultIfEmpty(double.NaN).Average();
        var versusBestBatch = endToEnd.SteadyScansPerMinute / 60 / bestInProcessRate;
        Console.WriteLine($"  endToEndFraction = default steady rate / the same burst in process, the median of {defaultRounds.Count} rounds = {endToEndFraction:P0}; against the ensemble alone at its best batch size ({bestInProcessRate * 60:F0} scans/min): {versusBestBatch:P0}");

        Console.WriteLine($"  (the default configuration's in-process reference used {sameBurstInProcess.CpuSeconds / burst.Count * 1000:F0} ms of CPU per scan)");

        // In Azure, storage runs on other machines. Here Azurite takes a share of the pipeline's cores; giving it
        // (and the benchmark's uploads and reads) a core of its own, and the in-process reference the same cores
        // as the host, measures what storage and triggers cost the pipeline itself.
        var split = CoreSplit.ForThisMachine();
        double? storageApartFraction = null;
        object? storageApart = null;
        if (split is not null)
        {
            var apartRounds = await PairedRoundsAsync(
                settings.StorageApartRounds,
                () => PinnedAsync(split.Pipeline, DefaultInProcess),
                () => storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, split: split));
            PrintRounds("storage apart", apartRounds);
            var (apart, pinnedReference, _) = EndToEndRound.Median(apartRounds);
            storageApartFraction = apart.SteadyScansPerMinute / pinnedReference.ScansPerMinute;
            storageApart = new
            {
                pipelineCores = split.Pipeline,
                storageCores = split.Storage,
                endToEnd = apart,
                inProcess = pinnedReference,
                rounds = apartRounds,
                fractionSpread = Spread.Of([.. apartRounds.Select(r => r.Fraction)]),
            };
            Console.WriteLine($"  storage apart (the default configuration; the host on {CpuAffinity.Describe(split.Pipeline)}, Azurite and the benchmark's uploads and reads on {CpuAffinity.Describe(split.Storage)}): steady {apart.SteadyScansPerMinute:F0} scans/min, time to result p50 {apart.P50TimeToResultSeconds:F2} s; CPU per scan: Azurite {apart.AzuriteCpuSeconds / apart.Scans * 1000:F0} ms, host {apart.HostCpuSeconds / apart.Scans * 1000:F0} ms; Azurite used {apart.AzuriteCpuSeconds / apart.Seconds / split.Storage.Length:P0} of its core(s) during the burst (near 100%: storage, not the pipeline, limited the rate)");
            Console.WriteLine($"    same scans and scorer in this process on {CpuAffinity.Describe(split.Pipeline)} (one burst after a warm-up burst): {pinnedReference.ScansPerMinute:F0} scans/min, {pinnedReference.CpuSeconds / burst.Count * 1000:F0} ms of CPU per scan -> end to end (steady) is {storageApartFraction:P0} of it");
        }

        // The deployed app's other path: the host sends every scan to the scoring worker (a GPU in Azure) over HTTP.
        // Here both share this machine's cores, so the rate compares with the same in-process reference; the host's
        // CPU per scan is what the Functions side costs when it does not score.
        var remote = await storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, remote: true);
        var remoteFraction = remote.SteadyScansPerMinute / sameBurstInProcess.ScansPerMinute;
        var hostMsPerScan = remote.HostCpuSeconds / remote.Scans * 1000;
        Console.WriteLine($"  remote scoring (the default configuration, the host sending each scan over HTTP to a scoring-worker process that batches as above, warmed first with {settings.WorkerWarmupScans} scans posted to it; both on this machine's cores): steady {remote.SteadyScansPerMinute:F0} scans/min, time to result p50 {remote.P50TimeToResultSeconds:F2} s, p95 {remote.P95TimeToResultSeconds:F2} s; CPU per scan: Azurite {remote.AzuriteCpuSeconds / remote.Scans * 1000:F0} ms, host {hostMsPerScan:F0} ms, worker {remote.WorkerCpuSeconds / remote.Scans * 1000:F0} ms; all cores {remote.MachineBusy:P0} busy -> {remoteFraction:P0} of the same burst in process (the host without scoring: one core of this CPU would keep up with about {60_000 / hostMsPerScan:F0} scans/min)");

        var cold = await ColdStart.MeasureAsync(settings, images[Modality.Chest][0], images[Modality.Ct][0]);
        if (cold is not null)
        {
            Console.WriteLine($"\n== cold start (scoring worker process, all models)\n  start to ready {cold.StartToReadySeconds:F2} s; first scan {cold.FirstScanSeconds * 1000:F0} ms; peak memory {cold.PeakMemoryMB:F0} MB");
        }

        report["limitFraction"] = limitFractions.DefaultIfEmpty(double.NaN).Average();
        report["endToEndFraction"] = endToEndFraction;
        report["endToEndFractionOfBestBatch"] = versusBestBatch;
        report["endToEndFractionStorageApart"] = storageApartFraction;
        report["speedupVsPerScanLoading"] = speedups.DefaultIfEmpty(double.NaN).Average();
        report["speedupVsPerScanLoadingLoneScan"] = loneSpeedups.DefaultIfEmpty(double.NaN).Average();
        report["coldStartSeconds"] = cold?.StartToReadySeconds;
        report["peakMemoryMB"] = cold?.PeakMemoryMB;
        report["machine"] = new { cpu = Cpu(), cores = Environment.ProcessorCount, date = DateTimeOffset.UtcNow, quick = settings.Quick, intraOpThreads = options.EffectiveIntraOpThreads };
        report["limit"] = new { matmulSize = settings.MatMulSize, gflopsPerSecond = gflops, timing = matmul };
        report["modalities"] = perModality;
        report["storage"] = new { tableWrite = table, queueSend = queue };
        report["endToEnd"] = endToEnd;
        report["endToEndRounds"] = defaultRounds;
        report["endToEndFractionSpread"] = fractionSpread;
        report["storageRequests"] = census;
        report["endToEndStorageApart"] = storageApart;
        report["endToEndRemote"] = new { endToEnd = remote, fractionOfInProcess = remoteFraction, hostCpuMsPerScan = hostMsPerScan };
        report["endToEndVariants"] = variants.ToDictionary(v => v.Name, v => new { endToEnd = v.Result, inProcess = v.InProcess });
        report["coldStart"] = cold;

        Console.WriteLine("\n== summary (targets from issue 5)");
        Console.WriteLine(string.Create(c, $"  limitFraction           {limitFractions.DefaultIfEmpty(double.NaN).Average():P1}  (target >= 60%; best batch size, median of rounds alternating with the MatMul probe)"));
        Console.WriteLine(string.Create(c, $"  endToEndFraction        {endToEndFraction:P1}  (target >= 85%; default configuration's steady rate / the same burst in process, median of {defaultRounds.Count} rounds, IQR {fractionSpread.P25:P1}-{fractionSpread.P75:P1}; {versusBestBatch:P1} of the best-batch ensemble rate)"));
        if (storageApartFraction is not null)
        {
            Console.WriteLine(string.Create(c, $"    with storage apart    {storageApartFraction:P1}  (the host on {CpuAffinity.Describe(split!.Pipeline)}, Azurite on {CpuAffinity.Describe(split.Storage)}; the in-process reference on the host's cores; median of {settings.StorageApartRounds} rounds)"));
        }

        Console.WriteLine(string.Create(c, $"  speedupVsPerScanLoading {speedups.DefaultIfEmpty(double.NaN).Average():F1}x  (target >= 20x)"));
        Console.WriteLine(string.Create(c, $"    lone scan, default     {loneSpeedups.DefaultIfEmpty(double.NaN).Average():F1}x  (seed's way / a lone scan through the default in-process scorer, models side by side)"));
        Console.WriteLine(string.Create(c, $"  coldStartSeconds        {cold?.StartToReadySeconds:F2}  (target < 3 s)"));
        Console.WriteLine(string.Create(c, $"  peakMemoryMB            {cold?.PeakMemoryMB:F0}"));
        if (settings.JsonPath is not null)
        {
            await File.WriteAllTextAsync(settings.JsonPath, JsonSerializer.Serialize(report, Json));
            Console.WriteLine($"\nwrote {settings.JsonPath}");
        }

        return 0;
    }

    /// <summary>
    /// A configuration end to end and in process, in rounds: the two bursts of a round run one right after the other,
    /// in swapped order every other round, so that this machine's drift over minutes falls on both sides of each
    /// round's fraction.
    /// </summary>
    private static async Task<List<EndToEndRound>> PairedRoundsAsync(int count, Func<Task<BurstResult>> inProcess, Func<Task<EndToEndResult>> endToEnd)
    {
        var rounds = new List<EndToEndRound>();
        for (var round = 0; round < count; round++)
        {
            var inProcessFirst = round % 2 == 0;
            if (inProcessFirst)
            {
                var reference = await inProcess();
                rounds.Add(new EndToEndRound(await endToEnd(), reference, inProcessFirst));
            }
            else
            {
                var result = await endToEnd();
                rounds.Add(new EndToEndRound(result, await inProcess(), inProcessFirst));
            }
        }

        return rounds;
    }

    private static void PrintRounds(string label, List<EndToEndRound> rounds)
    {
        foreach (var (number, round) in rounds.Index())
        {
            Console.WriteLine($"  {label}, round {number + 1} ({(round.InProcessFirst ? "in process first" : "end to end first")}): steady {round.EndToEnd.SteadyScansPerMinute:F0} scans/min end to end, {round.InProcess.ScansPerMinute:F0} in process -> {round.Fraction:P0}");
        }

        var spread = Spread.Of([.. rounds.Select(r => r.Fraction)]);
        Console.WriteLine($"  the median round of {rounds.Count} (fractions' IQR {spread.P25:P0}-{spread.P75:P0}):");
    }

    private static async Task<BurstResult> InProcessBurstAsync(
        ModelCatalog catalog, string manifestPath, IReadOnlyList<(Modality, byte[])> burst, bool batch, int callers, int concurrentScans, int rounds)
    {
        var options = new ModelOptions { ManifestPath = manifestPath, MaxConcurrentScans = concurrentScans };
        using var ownCatalog = concurrentScans == 1 ? null : new ModelCatalog(Options.Create(options), NullLogger<ModelCatalog>.Instance);
        var models = ownCatalog ?? catalog;
        var decoder = new ScanDecoder();
        if (batch)
        {
            await using var batching = new BatchingScanScorer(models, decoder, Options.Create(new ScoringOptions()), Options.Create(options));
            return await InProcessBenchmarks.BurstAsync(batching, burst, callers, rounds);
        }

        using var single = new InProcessScanScorer(models, decoder, Options.Create(options));
        return await InProcessBenchmarks.BurstAsync(single, burst, callers, rounds);
    }

    /// <summary>Runs <paramref name="measure"/> with this process pinned to <paramref name="cores"/>.</summary>
    private static async Task<T> PinnedAsync<T>(int[] cores, Func<Task<T>> measure)
    {
        CpuAffinity.Pin(Environment.ProcessId, cores);
        try
        {
            return await measure();
        }
        finally
        {
            CpuAffinity.Pin(Environment.ProcessId, CpuAffinity.AllCores);
        }
    }

    internal static string Cpu() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
}
