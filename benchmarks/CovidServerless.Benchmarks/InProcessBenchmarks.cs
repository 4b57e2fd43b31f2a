using System.Diagnostics;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

public sealed record ThroughputPoint(int BatchSize, Stats Timing, double ScansPerSecond);

/// <param name="AllocatedKBPerScan">Managed memory allocated per scan during the burst (all threads of this process).</param>
/// <param name="FullCollections">Gen2 garbage collections during the burst.</param>
/// <param name="Rounds">Timed bursts of which this is the median.</param>
public sealed record BurstResult(int Scans, int Callers, double ScansPerMinute, double CpuSeconds, double AllocatedKBPerScan, int FullCollections, int Rounds);

/// <summary>Scoring measured in this process: batched and parallel throughput, bursts, and the limit fraction.</summary>
public sealed class InProcessBenchmarks(BenchSettings settings, ModelCatalog catalog)
{
    private readonly ScanDecoder decoder = new();
    private readonly EnsembleRunner runner = BenchScoring.OneSlot(catalog);

    /// <summary>One scan from its bytes: decode, then the ensemble.</summary>
    public static Stats WholeScan(EnsembleRunner runner, ScanDecoder decoder, ModalityModels ensemble, byte[] image, int runs) => Stats.Measure(
        () =>
        {
            using var scan = decoder.Decode(image);
            BenchScoring.ScoreDecoded(runner, ensemble, [scan]);
        },
        runs);

    /// <summary>
    /// One scan at a time through the pipeline's two in-process scorers, in the default configuration (a fresh catalog
    /// with the default options: two model runs at once, one thread each), each scan waited for before the next.
    /// </summary>
    public async Task<(Stats InProcess, Stats Batching)> LoneScansAsync(Modality modality, byte[] image)
    {
        var options = new ModelOptions { ManifestPath = catalog.ManifestPath };
        using var models = new ModelCatalog(
            Options.Create(options), NullLogger<ModelCatalog>.Instance);
        using var modelRuns = new EnsembleRunner(models, decoder, Options.Create(options));
        var inProcess = new InProcessScanScorer(modelRuns);
        await using var batching = new BatchingScanScorer(modelRuns, Options.Create(new ScoringOptions()), Options.Create(options), TimeProvider.System);
        var (runs, warmup) = settings.Quick ? (3, 1) : (150, 40);
        return (
            await Stats.MeasureAsync(() => inProcess.ScoreAsync(modality, image, default), runs, warmup),
            await Stats.MeasureAsync(() => batching.ScoreAsync(modality, image, default), runs, warmup));
    }

    public IReadOnlyList<ThroughputPoint> Batched(Modality modality, IReadOnlyList<byte[]> images) =>
        [.. settings.BatchSizes.Select(size => Batch(runner, decoder, catalog.For(modality), images, size, settings))];

    /// <summary>Batches of <paramref name="size"/> decoded scans through the ensemble, one after another.</summary>
    public static ThroughputPoint Batch(EnsembleRunner runner, ScanDecoder decoder, ModalityModels ensemble, IReadOnlyList<byte[]> images, int size, BenchSettings settings)
    {
        var scans = Enumerable.Range(0, size).Select(i => decoder.Decode(images[i % images.Count])).ToList();
        try
        {
            var timing = Stats.Measure(() => BenchScoring.ScoreDecoded(runner, ensemble, scans), Math.Max(3, settings.Runs / 2));
            return new ThroughputPoint(size, timing, size / (timing.MedianMs / 1000));
        }
        finally
        {
            scans.ForEach(s => s.Dispose());
        }
    }

    /// <summary>The same batch with its scans preprocessed one after another on one thread (the former path).</summary>
    public double BatchedWithSerialPreprocessing(Modality modality, IReadOnlyList<byte[]> images, int size)
    {
        var ensemble = catalog.For(modality);
        var scans = Enumerable.Range(0, size).Select(i => decoder.Decode(images[i % images.Count])).ToList();
        var timing = Stats.Measure(
            () => PrepareOneAfterAnother(runner, ensemble, scans),
            Math.Max(3, settings.Runs / 2));
        scans.ForEach(s => s.Dispose());
        return size / (timing.MedianMs / 1000);
    }

    /// <summary>Scores decoded scans as one batch, preprocessing them one after another on this thread.</summary>
    public static IReadOnlyList<EnsembleScore> PrepareOneAfterAnother(EnsembleRunner runner, ModalityModels ensemble, IReadOnlyList<DecodedScan> scans)
    {
        var prepared = scans.Select(scan => PreparedScan.For(ensemble, scan)).ToList();
        try
        {
            return runner.ScoreAsync(ensemble, prepared).GetAwaiter().GetResult();
        }
        finally
        {
            prepared.ForEach(p => p.Dispose());
        }
    }

    /// <summary>One batch of <paramref name="size"/> scans at a time, all cores per model run: scans/s of one timing.</summary>
    public Func<double> OneBatchAtATime(Modality modality, IReadOnlyList<byte[]> images, int size)
    {
        var ensemble = catalog.For(modality);
        var scans = Enumerable.Range(0, size).Select(i => decoder.Decode(images[i % images.Count])).ToList();
        return () => size / (Stats.Measure(() => BenchScoring.ScoreDecoded(runner, ensemble, scans), runs: 3, warmup: 1).MedianMs / 1000);
    }

    /// <summary>
    /// A throughput as a fraction of the machine's limit, measured in alternating rounds: each round times the
    /// MatMul probe and then the scoring, so both see the machine in the same state (this virtual machine's
    /// speed drifts by tens of percent over minutes). Returns each round's fraction and probe rate.
    /// </summary>
    public (Spread Fraction, Spread Gflops) LimitFraction(Func<double> scansPerSecond, double flopsPerScan, MatMulRate probe)
    {
        var fractions = new List<double>();
        var rates = new List<double>();
        for (var round = 0; round < settings.LimitRounds; round++)
        {
            var (gflops, _) = probe.Measure(runs: 5, warmup: 1);
            fractions.Add(scansPerSecond() / (gflops * 1e9 / flopsPerScan));
            rates.Add(gflops);
        }

        return (Spread.Of(fractions), Spread.Of(rates));
    }

    /// <summary>
    /// The end-to-end burst without storage or triggers: the same scans, as bytes in memory, through the given
    /// scorer with <paramref name="callers"/> scans in flight, as the host's scan watcher would call it. The whole burst
    /// runs once to warm both modalities' sessions, then <paramref name="rounds"/> times, or fewer where the warm-up
    /// and timed bursts have taken <paramref name="budget"/>; the median round is kept.
    /// </summary>
    public static async Task<BurstResult> BurstAsync(IScanScorer scorer, IReadOnlyList<(Modality Modality, byte[] Image)> scans, int callers, int rounds, TimeSpan? budget = null)
    {
        var clock = Stopwatch.StartNew();
        await RunBurstAsync(scorer, scans, callers);
        var measured = new List<BurstResult>();
        for (var round = 0; round < rounds && (round == 0 || budget is null || clock.Elapsed < budget); round++)
        {
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var fullCollections = GC.CollectionCount(2);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var seconds = await RunBurstAsync(scorer, scans, callers);
            measured.Add(new BurstResult(
                scans.Count,
                callers,
                scans.Count / seconds * 60,
                (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds,
                (GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1024.0 / scans.Count,
                GC.CollectionCount(2) - fullCollections,
                Rounds: 1));
        }

        // The median burst; of an even number, the slower of the middle two (bursts cannot be averaged field by field).
        return measured.OrderBy(r => r.ScansPerMinute).ElementAt((measured.Count - 1) / 2) with { Rounds = measured.Count };
    }

    /// <summary>
    /// Scores <paramref name="count"/> scans taken in turn from <paramref name="scans"/> (a burst of half of them, run
    /// twice), so that the process's scoring path is past tiered JIT's tier-up before a figure is taken from it.
    /// </summary>
    public static Task WarmAsync(IScanScorer scorer, IReadOnlyList<(Modality Modality, byte[] Image)> scans, int count, int callers) =>
        BurstAsync(scorer, Enumerable.Range(0, Math.Max(1, count / 2)).Select(i => scans[i % scans.Count]).ToList(), callers, rounds: 1);

    private static async Task<double> RunBurstAsync(IScanScorer scorer, IReadOnlyList<(Modality Modality, byte[] Image)> scans, int callers)
    {
        using var inFlight = new SemaphoreSlim(callers, callers);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(scans.Select(async scan =>
        {
            await inFlight.WaitAsync();
            try
            {
                await Task.Run(() => scorer.ScoreAsync(scan.Modality, scan.Image, default));
            }
            finally
            {
                inFlight.Release();
            }
        }));
        return clock.Elapsed.TotalSeconds;
    }
}
