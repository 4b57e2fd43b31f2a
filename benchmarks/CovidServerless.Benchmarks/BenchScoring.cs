using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <summary>
/// Decoded scans through the pipeline's own <see cref="EnsembleRunner"/> with one slot, so a batch's models run one
/// after another, each with all of its catalog's intra-op threads. Several scans are preprocessed in parallel, as
/// the batching scorer's callers do on their own threads.
/// </summary>
public static class BenchScoring
{
    public static EnsembleRunner OneSlot(ModelCatalog catalog) =>
        new(catalog, new ScanDecoder(), Options.Create(new ModelOptions { MaxConcurrentScans = 1 }));

    public static IReadOnlyList<EnsembleScore> ScoreDecoded(EnsembleRunner runner, ModalityModels ensemble, IReadOnlyList<DecodedScan> scans)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(scans);
        var prepared = new PreparedScan[scans.Count];
        try
        {
            Parallel.For(0, scans.Count, i => prepared[i] = PreparedScan.For(ensemble, scans[i]));
            return runner.ScoreAsync(ensemble, prepared).GetAwaiter().GetResult();
        }
        finally
        {
            Array.ForEach(prepared, p => p?.Dispose());
        }
    }
}
