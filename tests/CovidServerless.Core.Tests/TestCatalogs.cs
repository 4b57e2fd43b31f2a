using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

internal static class TestCatalogs
{
    public static ModelCatalog Load(string manifestPath, int maxConcurrentScans = 1) =>
        new(Options.Create(new ModelOptions { ManifestPath = manifestPath, MaxConcurrentScans = maxConcurrentScans }), NullLogger<ModelCatalog>.Instance);

    public static InProcessScanScorer Scorer(ModelCatalog catalog) =>
        new(catalog, new ScanDecoder(), Options.Create(new ModelOptions()));
}
