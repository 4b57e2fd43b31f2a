using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Series;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The scan processor wired as the hosts wire it, in process, over Azurite: a model folder's catalog (loaded once, on
/// first use), the real scorer, and stores and notifier over a results queue of the caller's. Owns the folder.
/// </summary>
internal sealed class InProcessPipeline(StorageClients clients, ModelFolder models) : IDisposable
{
    private readonly List<EnsembleRunner> runners = [];
    private ModelCatalog? catalog;

    public ModelFolder Models => models;

    public ModelCatalog Catalog => catalog ??= new ModelCatalog(Options.Create(new ModelOptions { ManifestPath = models.ManifestPath }), NullLogger<ModelCatalog>.Instance);

    /// <summary>The in-process scorer over the catalog, computing heatmaps where <paramref name="heatmaps"/> asks.</summary>
    public IScanScorer Scorer(HeatmapOptions? heatmaps = null)
    {
        var runner = new EnsembleRunner(Catalog, new ScanDecoder(), Options.Create(new ModelOptions()), heatmaps is null ? null : Options.Create(heatmaps));
        runners.Add(runner);
        return new InProcessScanScorer(runner);
    }

    /// <summary>A processor sending to <paramref name="queue"/>; the real scorer unless one is given; heatmaps stored where asked.</summary>
    public Wired Wire(string queue, IScanScorer? scorer = null, TimeProvider? time = null, ILogger<ScanProcessor>? logger = null, HeatmapOptions? heatmaps = null)
    {
        var options = Options.Create(new StorageOptions { ResultsQueue = queue });
        var store = new ResultStore(clients, options);
        var series = new SeriesStore(store);
        var notifier = new ResultNotifier(clients, options);
        var processor = new ScanProcessor(
            scorer ?? Scorer(heatmaps), new ScanDecoder(), store, series, notifier, time ?? TimeProvider.System, logger ?? NullLogger<ScanProcessor>.Instance,
            heatmaps is null ? null : new HeatmapStore(clients, new ScanDecoder(), Options.Create(heatmaps)));
        return new Wired(processor, store, series, notifier);
    }

    public void Dispose()
    {
        runners.ForEach(r => r.Dispose());
        catalog?.Dispose();
        models.Dispose();
    }

    internal sealed record Wired(ScanProcessor Processor, ResultStore Store, SeriesStore Series, ResultNotifier Notifier);
}
