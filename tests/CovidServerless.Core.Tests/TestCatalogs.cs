using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

internal static class TestCatalogs
{
    public static ModelCatalog Load(string manifestPath, int maxConcurrentScans = 1, bool inputGate = true) =>
        new(Options.Create(new ModelOptions { ManifestPath = manifestPath, MaxConcurrentScans = maxConcurrentScans, InputGate = inputGate }), NullLogger<ModelCatalog>.Instance);

    public static EnsembleRunner Runner(ModelCatalog catalog, int maxConcurrentScans = 1) =>
        new(catalog, new ScanDecoder(), Options.Create(new ModelOptions { MaxConcurrentScans = maxConcurrentScans }));

    /// <summary>A one-scan-at-a-time scorer that owns its runner.</summary>
    public static OwnedScorer Scorer(ModelCatalog catalog) => new(Runner(catalog));

    internal sealed class OwnedScorer(EnsembleRunner runner) : IScanScorer, IDisposable
    {
        private readonly InProcessScanScorer scorer = new(runner);

        public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken) =>
            scorer.ScoreAsync(modality, image, cancellationToken);

        public void Dispose() => runner.Dispose();
    }
}
