using System.Diagnostics;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace CovidServerless.Benchmarks;

public sealed record StageTimes(Stats Decode, Stats Preprocess, IReadOnlyDictionary<string, Stats> Models, Stats Ensemble, Stats ScanEndToEnd);

public sealed record ThroughputPoint(int BatchSize, Stats Timing, double ScansPerSecond);

/// <summary>Scoring measured in this process: per-stage cost, batched and parallel throughput, and the seed's way.</summary>
public sealed class InProcessBenchmarks(BenchSettings settings, ModelCatalog catalog)
{
    private readonly ScanDecoder decoder = new();

    public StageTimes Stages(Modality modality, byte[] image)
    {
        var ensemble = catalog.For(modality);
        using var scan = decoder.Decode(image);
        var decode = Stats.Measure(() => decoder.Decode(image).Dispose(), settings.Runs);
        var preprocess = Stats.Measure(() => ImagePreprocessor.ToTensor(scan, ensemble.Models[0].Input), settings.Runs);
        var models = ensemble.Models.ToDictionary(
            m => m.Name,
            m =>
            {
                var tensor = ImagePreprocessor.ToTensor(scan, m.Input);
                return Stats.Measure(() => m.PredictCovid(tensor, 1), settings.Runs);
            });
        var ensembleTime = Stats.Measure(() => InProcessScanScorer.ScoreDecoded(ensemble, [scan]), settings.Runs);
        var whole = Stats.Measure(
            () =>
            {
                using var decoded = decoder.Decode(image);
                InProcessScanScorer.ScoreDecoded(ensemble, [decoded]);
            },
            settings.Runs);
        return new StageTimes(decode, preprocess, models, ensembleTime, whole);
    }

    public IReadOnlyList<ThroughputPoint> Batched(Modality modality, IReadOnlyList<byte[]> images)
    {
        var ensemble = catalog.For(modality);
        var points = new List<ThroughputPoint>();
        foreach (var size in settings.BatchSizes)
        {
            var scans = Enumerable.Range(0, size).Select(i => decoder.Decode(images[i % images.Count])).ToList();
            var timing = Stats.Measure(() => InProcessScanScorer.ScoreDecoded(ensemble, scans), Math.Max(3, settings.Runs / 2));
            points.Add(new ThroughputPoint(size, timing, size / (timing.MedianMs / 1000)));
            scans.ForEach(s => s.Dispose());
        }

        return points;
    }

    /// <summary>Several scans at once, each model run on cores/parallel threads: scans/s over all of them.</summary>
    public static double Parallel(string manifestPath, Modality modality, IReadOnlyList<byte[]> images, int parallel, int scansEach)
    {
        var options = new ModelOptions { ManifestPath = manifestPath, MaxConcurrentScans = parallel };
        using var parallelCatalog = new ModelCatalog(Options.Create(options), NullLogger<ModelCatalog>.Instance);
        var ensemble = parallelCatalog.For(modality);
        var decoder = new ScanDecoder();
        void Work(int worker)
        {
            for (var i = 0; i < scansEach; i++)
            {
                using var scan = decoder.Decode(images[(worker + i) % images.Count]);
                InProcessScanScorer.ScoreDecoded(ensemble, [scan]);
            }
        }

        Work(0); // warm-up
        var clock = Stopwatch.StartNew();
        System.Threading.Tasks.Parallel.For(0, parallel, new ParallelOptions { MaxDegreeOfParallelism = parallel }, Work);
        return parallel * scansEach / clock.Elapsed.TotalSeconds;
    }

    /// <summary>One whole scan (decode + ensemble) with ONNX Runtime's pool threads allowed to spin between runs.</summary>
    public static Stats WithSpinning(BenchSettings settings, Modality modality, byte[] image)
    {
        var options = new ModelOptions { ManifestPath = settings.ManifestPath, AllowSpinning = true };
        using var spinning = new ModelCatalog(Options.Create(options), NullLogger<ModelCatalog>.Instance);
        var ensemble = spinning.For(modality);
        var decoder = new ScanDecoder();
        return Stats.Measure(
            () =>
            {
                using var scan = decoder.Decode(image);
                InProcessScanScorer.ScoreDecoded(ensemble, [scan]);
            },
            settings.Runs);
    }

    /// <summary>The seed's way: load the four models for every scan, then score it.</summary>
    public Stats SeedWay(Modality modality, IReadOnlyList<byte[]> images)
    {
        var ensemble = catalog.For(modality);
        var folder = Path.GetDirectoryName(catalog.ManifestPath)!;
        var i = 0;
        return Stats.Measure(
            () =>
            {
                using var scan = decoder.Decode(images[i++ % images.Count]);
                foreach (var model in ensemble.Models)
                {
                    using var session = new InferenceSession(Path.Combine(folder, model.Entry.File));
                    using var fresh = new OnnxModel(modality, model.Entry, model.Sha256, session);
                    fresh.PredictCovid(ImagePreprocessor.ToTensor(scan, model.Input), 1);
                }
            },
            settings.SeedScans,
            warmup: 1);
    }
}
