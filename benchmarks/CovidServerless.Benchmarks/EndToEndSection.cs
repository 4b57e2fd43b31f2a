using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <summary>What the summary needs from the end-to-end section; <see cref="Details"/> goes into the JSON as it is.</summary>
/// <param name="StorageApartCores">Where the host and Azurite ran for <paramref name="StorageApartFraction"/>.</param>
public sealed record EndToEndFigures(
    double Fraction, Spread FractionSpread, double FractionOfBestBatch, double? StorageApartFraction, string? StorageApartCores, IReadOnlyDictionary<string, object?> Details);

/// <summary>
/// The pipeline end to end (a fresh local host process and Azurite per burst) against the same bursts through the same
/// scorer in this process: each configuration, the default in rounds, with storage apart, and through the scoring worker.
/// </summary>
public sealed class EndToEndSection(BenchSettings settings, ModelCatalog catalog, StorageBenchmarks storage)
{
    public async Task<EndToEndFigures> RunAsync(IReadOnlyDictionary<Modality, IReadOnlyList<byte[]>> images, double bestInProcessRate)
    {
        var burst = Enumerable.Range(0, settings.EndToEndScans)
            .Select(i => (Modality: ModalityNames.All[i % 2], Image: images[ModalityNames.All[i % 2]][i / 2 % images[ModalityNames.All[i % 2]].Count]))
            .ToList();
        Console.WriteLine($"\n== end to end (local host + Azurite, {burst.Count} scans uploaded in a burst, chest and ct alternating, after a warm-up burst; each configuration in a fresh host process and Azurite)");
        var variants = new List<(string Name, EndToEndResult Result, BurstResult InProcess)>();
        // The default configuration is the local host's, as its options' defaults make it on this machine.
        var (scoring, models) = (new ScoringOptions(), new ModelOptions());
        var (ingested, threads) = (new ScanWatchOptions().ScansIngestedAtOnce(scoring, models), models.EffectiveIntraOpThreads);
        var configurations = new (string Name, bool Batch, int IngestConcurrency, int ConcurrentScans)[]
        {
            ($"default (batched, {models.MaxConcurrentScans} batches at once with {threads} thread{(threads == 1 ? "" : "s")} each, {ingested} scans ingested at once)", scoring.BatchInProcess, ingested, models.MaxConcurrentScans),
            ($"batched, one batch at a time with a thread per core (Models:MaxConcurrentScans=1), {ingested} scans ingested at once", true, ingested, 1),
            ("unbatched, 2 scans at once with the cores split between them, 8 scans ingested at once", false, 8, 2),
            ("unbatched, one scan at a time with a thread per core, 8 scans ingested at once", false, 8, 1),
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
            InProcessBurstAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, rounds: 1);
        var defaultRounds = await PairedRoundsAsync(
            settings.EndToEndRounds, DefaultInProcess, () => storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans));
        var fractionSpread = EndToEndRound.FractionSpread(defaultRounds);
        PrintRounds("default", defaultRounds, fractionSpread);
        var median = EndToEndRound.Median(defaultRounds);
        Report(configurations[0].Name, median.EndToEnd, median.InProcess);
        foreach (var (name, batch, concurrency, concurrentScans) in configurations.Skip(1).Take(settings.Quick ? 0 : configurations.Length))
        {
            var reference = await InProcessBurstAsync(burst, batch, concurrency, concurrentScans, settings.InProcessBurstRounds);
            Report(name, await storage.EndToEndAsync(burst, batch, concurrency, concurrentScans), reference);
        }

        // A separate run with Azurite logging every request: the census, not timed (the logging costs Azurite CPU).
        var census = (await storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, countRequests: true)).Requests!;
        Console.WriteLine($"  storage requests during the default configuration's burst (another run, Azurite logging requests): {census}");

        // Like for like: the default configuration end to end against the same scans through the same scorer in
        // this process (its median round), so the fraction is what storage and triggers cost. The stricter ratio,
        // against the ensemble alone at its best batch size (no decoding, scans ready in memory), is reported beside it.
        var (endToEnd, sameBurstInProcess, _) = median;
        var endToEndFraction = median.Fraction;
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
            var apartSpread = EndToEndRound.FractionSpread(apartRounds);
            PrintRounds("storage apart", apartRounds, apartSpread);
            var apartMedian = EndToEndRound.Median(apartRounds);
            var (apart, pinnedReference, _) = apartMedian;
            storageApartFraction = apartMedian.Fraction;
            storageApart = new
            {
                pipelineCores = split.Pipeline,
                storageCores = split.Storage,
                endToEnd = apart,
                inProcess = pinnedReference,
                rounds = apartRounds,
                fractionSpread = apartSpread,
            };
            Console.WriteLine($"  storage apart (the default configuration; the host on {CpuAffinity.Describe(split.Pipeline)}, Azurite and the benchmark's uploads and reads on {CpuAffinity.Describe(split.Storage)}): steady {apart.SteadyScansPerMinute:F0} scans/min, time to result p50 {apart.P50TimeToResultSeconds:F2} s; CPU per scan: Azurite {apart.AzuriteCpuSeconds / apart.Scans * 1000:F0} ms, host {apart.HostCpuSeconds / apart.Scans * 1000:F0} ms; Azurite used {apart.AzuriteCpuSeconds / apart.Seconds / split.Storage.Length:P0} of its core(s) during the burst (near 100%: storage, not the pipeline, limited the rate)");
            Console.WriteLine($"    same scans and scorer in this process on {CpuAffinity.Describe(split.Pipeline)} (one burst after a warm-up burst): {pinnedReference.ScansPerMinute:F0} scans/min, {pinnedReference.CpuSeconds / burst.Count * 1000:F0} ms of CPU per scan -> end to end (steady) is {storageApartFraction:P0} of it");
        }

        // The deployed app's other path: the host sends every scan to the scoring worker (a GPU in Azure) over HTTP.
        // Here both share this machine's cores, so the rate compares with the same in-process reference; the host's
        // CPU per scan is what the Functions side costs when it does not score.
        var remote = await storage.EndToEndAsync(burst, defaultBatch, defaultIngestConcurrency, defaultConcurrentScans, scoringWorker: ExecutionProvider.Cpu);
        var remoteFraction = remote.SteadyScansPerMinute / sameBurstInProcess.ScansPerMinute;
        var hostMsPerScan = remote.HostCpuSeconds / remote.Scans * 1000;
        Console.WriteLine($"  remote scoring (the default configuration, the host sending each scan over HTTP to a scoring-worker process that batches as above, warmed first with {settings.WorkerWarmupScans} scans posted to it; both on this machine's cores): steady {remote.SteadyScansPerMinute:F0} scans/min, time to result p50 {remote.P50TimeToResultSeconds:F2} s, p95 {remote.P95TimeToResultSeconds:F2} s; CPU per scan: Azurite {remote.AzuriteCpuSeconds / remote.Scans * 1000:F0} ms, host {hostMsPerScan:F0} ms, worker {remote.WorkerCpuSeconds / remote.Scans * 1000:F0} ms; all cores {remote.MachineBusy:P0} busy -> {remoteFraction:P0} of the same burst in process (the host without scoring: one core of this CPU would keep up with about {60_000 / hostMsPerScan:F0} scans/min)");

        var details = new Dictionary<string, object?>
        {
            ["endToEnd"] = endToEnd,
            ["endToEndRounds"] = defaultRounds,
            ["endToEndFractionSpread"] = fractionSpread,
            ["storageRequests"] = census,
            ["endToEndStorageApart"] = storageApart,
            ["endToEndRemote"] = new { endToEnd = remote, fractionOfInProcess = remoteFraction, hostCpuMsPerScan = hostMsPerScan },
            ["endToEndVariants"] = variants.ToDictionary(v => v.Name, v => new { endToEnd = v.Result, inProcess = v.InProcess }),
        };
        var storageApartCores = split is null ? null : $"the host on {CpuAffinity.Describe(split.Pipeline)}, Azurite on {CpuAffinity.Describe(split.Storage)}";
        return new EndToEndFigures(endToEndFraction, fractionSpread, versusBestBatch, storageApartFraction, storageApartCores, details);
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

    private static void PrintRounds(string label, List<EndToEndRound> rounds, Spread spread)
    {
        foreach (var (number, round) in rounds.Index())
        {
            Console.WriteLine($"  {label}, round {number + 1} ({(round.InProcessFirst ? "in process first" : "end to end first")}): steady {round.EndToEnd.SteadyScansPerMinute:F0} scans/min end to end, {round.InProcess.ScansPerMinute:F0} in process -> {round.Fraction:P0}");
        }

        Console.WriteLine($"  the median round of {rounds.Count} (fractions' IQR {spread.P25:P0}-{spread.P75:P0}):");
    }

    /// <summary>The burst through one scorer configuration in this process, without storage or triggers.</summary>
    private async Task<BurstResult> InProcessBurstAsync(IReadOnlyList<(Modality, byte[])> burst, bool batch, int callers, int concurrentScans, int rounds)
    {
        var options = new ModelOptions { ManifestPath = settings.ManifestPath, MaxConcurrentScans = concurrentScans };
        using var ownCatalog = concurrentScans == 1 ? null : new ModelCatalog(Options.Create(options), NullLogger<ModelCatalog>.Instance);
        var models = ownCatalog ?? catalog;
        using var runner = new EnsembleRunner(models, new ScanDecoder(), Options.Create(options));
        if (batch)
        {
            await using var batching = new BatchingScanScorer(runner, Options.Create(new ScoringOptions()), Options.Create(options), TimeProvider.System);
            return await InProcessBenchmarks.BurstAsync(batching, burst, callers, rounds);
        }

        return await InProcessBenchmarks.BurstAsync(new InProcessScanScorer(runner), burst, callers, rounds);
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
}
