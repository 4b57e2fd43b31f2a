using System.Diagnostics;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <summary>
/// Several batches scored at once, each model run on cores / parallel threads, as the pipeline does with
/// Models:MaxConcurrentScans = parallel (its own catalog, since the thread count is a session option).
/// </summary>
public sealed class ParallelBatches : IDisposable
{
    private readonly ModelCatalog catalog;
    private readonly ModalityModels ensemble;
    private readonly EnsembleRunner runner;
    private readonly List<List<DecodedScan>> batches;

    public ParallelBatches(string manifestPath, Modality modality, IReadOnlyList<byte[]> images, int parallel, int batchSize)
    {
        catalog = new ModelCatalog(Options.Create(new ModelOptions { ManifestPath = manifestPath, MaxConcurrentScans = parallel }), NullLogger<ModelCatalog>.Instance);
        ensemble = catalog.For(modality);
        runner = BenchScoring.OneSlot(catalog);
        var decoder = new ScanDecoder();
        batches = [.. Enumerable.Range(0, parallel)
            .Select(worker => Enumerable.Range(0, batchSize).Select(i => decoder.Decode(images[((worker * batchSize) + i) % images.Count])).ToList())];
        Score(0); // warm-up
    }

    /// <summary>Scans/s over all batches, each worker scoring its batch <paramref name="batchesEach"/> times.</summary>
    public double Measure(int batchesEach)
    {
        var clock = Stopwatch.StartNew();
        Parallel.For(0, batches.Count, new ParallelOptions { MaxDegreeOfParallelism = batches.Count }, worker =>
        {
            for (var i = 0; i < batchesEach; i++)
            {
                Score(worker);
            }
        });
        return batches.Count * batches[0].Count * batchesEach / clock.Elapsed.TotalSeconds;
    }

    private void Score(int worker) => InProcessBenchmarks.PrepareOneAfterAnother(runner, ensemble, batches[worker]);

    public void Dispose()
    {
        batches.SelectMany(b => b).ToList().ForEach(scan => scan.Dispose());
        runner.Dispose();
        catalog.Dispose();
    }
}
