using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.DevTools;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <summary>Runs every section in one process, prints a table and writes the JSON report.</summary>
public static class BenchRunner
{
    /// <summary>The reports' JSON: indented, and a figure that could not be measured written as NaN.</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
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
        var speedupsAtLimit = new List<double>();

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

            // A warm scan cannot take less than its models' work at the machine's fastest measured rate (decoding and
            // preprocessing come on top), so no pipeline on this machine gets further ahead of the seed's way than this.
            var fastestMs = flops / (probe.FastestGflopsPerSecond * 1e9) * 1000;
            var speedupAtLimit = flops > 0 ? seed.MedianMs / fastestMs : double.NaN;
            Console.WriteLine($"  seed's way / the ensemble's work at the fastest MatMul rate measured so far ({probe.FastestGflopsPerSecond:F1} GFLOP/s: {fastestMs:F2} ms): {speedupAtLimit:F1}x, the most any warm scan could be ahead here");
            var lone = await inProcess.LoneScansAsync(modality, sample);
            var loneSpeedup = seed.MedianMs / lone.InProcess.MedianMs;
            var defaults = new ModelOptions();
            Console.WriteLine($"  a lone scan (decode to score) through the pipeline's scorers, default configuration (its 4 models {defaults.MaxConcurrentScans} at a time, {defaults.EffectiveIntraOpThreads} thread(s) each): in process {lone.InProcess}, batching {lone.Batching} -> seed's way / in process = {loneSpeedup:F1}x");

            limitFractions.Add(fraction.Median);
            bestRates.Add(Math.Max(best.ScansPerSecond, bestParallelRate));
            speedups.Add(speedup);
            loneSpeedups.Add(loneSpeedup);
            speedupsAtLimit.Add(speedupAtLimit);
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
                speedupVsPerScanLoadingAtLimit = speedupAtLimit,
            };
        }

        await using var azurite = new Azurite();
        await azurite.StartAsync();
        var storage = new StorageBenchmarks(settings);
        var (table, queue) = await storage.WritesAsync(azurite);
        Console.WriteLine($"\n== storage (Azurite on loopback)\n  table write     {table}   (one transaction: ensemble + 4 model rows, plus timeline row)\n  queue send      {queue}");
        var (heatmapCosts, heatmapFraction) = await HeatmapSectionAsync(settings, catalog, azurite, images);
        var bestInProcessRate = bestRates.DefaultIfEmpty(double.NaN).Average();
        var endToEnd = await new EndToEndSection(settings, catalog, storage).RunAsync(images, bestInProcessRate);

        var cold = await ColdStart.MeasureAsync(settings, images[Modality.Chest][0], images[Modality.Ct][0]);
        if (cold is not null)
        {
            Console.WriteLine($"\n== cold start (scoring worker process, all models)\n  start to ready {cold.StartToReadySeconds:F2} s; first scan {cold.FirstScanSeconds * 1000:F0} ms; peak memory {cold.PeakMemoryMB:F0} MB");
        }

        // The targets' figures are means over the modalities (NaN where a section did not run).
        static double MeanOf(List<double> values) => values.DefaultIfEmpty(double.NaN).Average();
        var (meanLimitFraction, meanSpeedup, meanLoneSpeedup, meanSpeedupAtLimit) = (MeanOf(limitFractions), MeanOf(speedups), MeanOf(loneSpeedups), MeanOf(speedupsAtLimit));
        report["limitFraction"] = meanLimitFraction;
        report["endToEndFraction"] = endToEnd.Fraction;
        report["endToEndFractionOfBestBatch"] = endToEnd.FractionOfBestBatch;
        report["endToEndFractionStorageApart"] = endToEnd.StorageApartFraction;
        report["speedupVsPerScanLoading"] = meanSpeedup;
        report["speedupVsPerScanLoadingLoneScan"] = meanLoneSpeedup;
        report["speedupVsPerScanLoadingAtLimit"] = meanSpeedupAtLimit;
        report["heatmapCostFraction"] = heatmapFraction;
        report["heatmaps"] = heatmapCosts;
        report["coldStartSeconds"] = cold?.StartToReadySeconds;
        report["peakMemoryMB"] = cold?.PeakMemoryMB;
        report["machine"] = new { cpu = Cpu(), cores = Environment.ProcessorCount, date = DateTimeOffset.UtcNow, quick = settings.Quick, intraOpThreads = options.EffectiveIntraOpThreads };
        report["limit"] = new { matmulSize = settings.MatMulSize, gflopsPerSecond = gflops, timing = matmul };
        report["modalities"] = perModality;
        report["storage"] = new { tableWrite = table, queueSend = queue };
        foreach (var (key, value) in endToEnd.Details)
        {
            report[key] = value;
        }

        report["coldStart"] = cold;

        Console.WriteLine("\n== summary (targets from issue 5)");
        Console.WriteLine(string.Create(c, $"  limitFraction           {meanLimitFraction:P1}  (target >= 60%; best batch size, median of rounds alternating with the MatMul probe)"));
        Console.WriteLine(string.Create(c, $"  endToEndFraction        {endToEnd.Fraction:P1}  (target >= 85%; default configuration's steady rate / the same burst in process, median of {settings.EndToEndRounds} rounds, IQR {endToEnd.FractionSpread.P25:P1}-{endToEnd.FractionSpread.P75:P1}; {endToEnd.FractionOfBestBatch:P1} of the best-batch ensemble rate)"));
        if (endToEnd.StorageApartFraction is not null)
        {
            Console.WriteLine(string.Create(c, $"    with storage apart    {endToEnd.StorageApartFraction:P1}  ({endToEnd.StorageApartCores}; the in-process reference on the host's cores; median of {settings.StorageApartRounds} rounds)"));
        }

        Console.WriteLine(string.Create(c, $"  speedupVsPerScanLoading {meanSpeedup:F1}x  (target >= 20x)"));
        Console.WriteLine(string.Create(c, $"    lone scan, default     {meanLoneSpeedup:F1}x  (seed's way / a lone scan through the default in-process scorer, models side by side)"));
        Console.WriteLine(string.Create(c, $"    at the machine's limit {meanSpeedupAtLimit:F1}x  (seed's way / the ensemble's work at the fastest MatMul rate measured: the most any warm scan could reach on this machine)"));
        Console.WriteLine(string.Create(c, $"  heatmapCostFraction     {heatmapFraction:P1}  (target <= 10% (issue 36); scoring + rows with maps vs scoring + rows without, median of paired differences over the scoring median, mean of modalities; overlays are drawn on first GET)"));
        Console.WriteLine(string.Create(c, $"  coldStartSeconds        {cold?.StartToReadySeconds:F2}  (target < 3 s)"));
        Console.WriteLine(string.Create(c, $"  peakMemoryMB            {cold?.PeakMemoryMB:F0}"));
        if (settings.JsonPath is not null)
        {
            await File.WriteAllTextAsync(settings.JsonPath, JsonSerializer.Serialize(report, Json));
            Console.WriteLine($"\nwrote {settings.JsonPath}");
        }

        return 0;
    }

    /// <summary>--heatmaps: the heatmap section alone (its ratio is measured within itself, so it needs nothing else).</summary>
    public static async Task<int> RunHeatmapsAsync(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var options = new ModelOptions { ManifestPath = settings.ManifestPath };
        using var catalog = new ModelCatalog(Options.Create(options), NullLogger<ModelCatalog>.Instance);
        if (!catalog.IsReady)
        {
            await Console.Error.WriteLineAsync("Models not ready: " + string.Join("; ", catalog.Problems));
            return 2;
        }

        Console.WriteLine($"covidscan bench --heatmaps{(settings.Quick ? " --quick" : string.Empty)}");
        Console.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Cpu()}, {Environment.ProcessorCount} cores, default model options (intra-op threads {options.EffectiveIntraOpThreads}, {options.MaxConcurrentScans} runs at once), models {settings.ManifestPath}");
        var images = ModalityNames.All.ToDictionary(m => m, m => Samples.For(m, settings.DataFolder, 16));
        await using var azurite = new Azurite();
        await azurite.StartAsync();
        var (costs, fraction) = await HeatmapSectionAsync(settings, catalog, azurite, images);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\n  heatmapCostFraction     {fraction:P1}  (target <= 10%)"));
        if (settings.JsonPath is not null)
        {
            await File.WriteAllTextAsync(settings.JsonPath, JsonSerializer.Serialize(new { heatmapCostFraction = fraction, heatmaps = costs }, Json));
        }

        return 0;
    }

    private static async Task<(Dictionary<string, HeatmapCostResult> Costs, double Fraction)> HeatmapSectionAsync(
        BenchSettings settings, ModelCatalog catalog, Azurite azurite, Dictionary<Modality, IReadOnlyList<byte[]>> images)
    {
        var costs = new Dictionary<string, HeatmapCostResult>();
        Console.WriteLine($"\n== heatmaps (a lone scan scored in process and its result's rows saved in Azurite, alone vs with its maps fetched and stored in the rows; pairs alternating over {images[Modality.Chest].Count} scans; then the first GET of an overlay, drawn at {new Core.Heatmaps.HeatmapOptions().MaxSide} px and stored, and a second GET)");
        foreach (var modality in ModalityNames.All)
        {
            if (await HeatmapCost.MeasureAsync(settings, catalog, azurite, modality, images[modality]) is not { } cost)
            {
                Console.WriteLine($"  {modality.ToName(),-5} no model has a heatmap output: not measured");
                continue;
            }

            costs[modality.ToName()] = cost;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {modality.ToName(),-5} scoring {cost.Scoring}\n        scoring + rows saved {cost.Recorded}\n        with maps fetched and stored {cost.RecordedWithMaps}  -> {cost.Fraction:+0.0%;-0.0%} of scoring (in process, rows apart: {cost.InProcessFraction:+0.0%;-0.0%})\n        first GET (drawn and stored) {cost.FirstGet}  = {cost.FirstGetFraction:P0} of scoring; one model's {cost.FirstGetModel}\n        second GET (stored) {cost.StoredGet}"));
        }

        return (costs, costs.Values.Select(h => h.Fraction).DefaultIfEmpty(double.NaN).Average());
    }

    internal static string Cpu() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
}
