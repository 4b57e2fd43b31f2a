using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

public sealed class ScanProcessorTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly StorageHarness storage = new(azurite);
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();

    public void Dispose() => models.Dispose();

    [Fact]
    public async Task A_scan_scored_as_the_host_stops_is_still_recorded_and_announced()
    {
        var options = Options.Create(new StorageOptions { ResultsQueue = $"stopping-{Guid.NewGuid():N}" });
        using var catalog = new ModelCatalog(Options.Create(new ModelOptions { ManifestPath = models.ManifestPath }), NullLogger<ModelCatalog>.Instance);
        using var stopping = new CancellationTokenSource();
        var scorer = new StopWhenScored(new InProcessScanScorer(catalog, new ScanDecoder(), Options.Create(new ModelOptions())), stopping);
        var processor = new ScanProcessor(
            scorer, new ResultStore(storage.Clients, options), new ResultNotifier(storage.Clients, options), TimeProvider.System, NullLogger<ScanProcessor>.Instance);
        var identity = new ScanIdentity(Modality.Chest, $"stopping/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await processor.ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), stopping.Token);

        Assert.True(stopping.IsCancellationRequested);
        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(5, (await storage.RowsForBlobAsync(Modality.Chest, identity.BlobName)).Count);
        var message = Assert.Single((await storage.Clients.Queues.GetQueueClient(options.Value.ResultsQueue).PeekMessagesAsync(32)).Value);
        Assert.Contains(identity.ScanId, message.Body.ToString(), StringComparison.Ordinal);
        var recorded = await new ResultStore(storage.Clients, options).RecordedSinceAsync(Modality.Chest, identity.UploadedAt, default);
        Assert.True(recorded.Contains(identity), "the timeline row, written last, marks it complete");
    }

    /// <summary>Scores, then asks the host to stop: the stop arrives once the scan has its result.</summary>
    private sealed class StopWhenScored(IScanScorer inner, CancellationTokenSource stop) : IScanScorer
    {
        public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
        {
            var score = await inner.ScoreAsync(modality, image, cancellationToken);
            await stop.CancelAsync();
            return score;
        }
    }
}
