using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The sweep that catches scans the polling blob trigger skipped. No trigger runs here: every blob uploaded in these
/// tests is one that was never delivered.
/// </summary>
public sealed class MissedScanSweepTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private readonly StorageHarness storage = new(azurite);

    private ServiceProvider Pipeline(IScanScorer? scorer = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Models:ManifestPath"] = models.ManifestPath,
            ["MissedScanSweep:MaxAttempts"] = "2",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration).AddCovidPipeline(configuration);
        if (scorer is not null)
        {
            services.AddSingleton(scorer);
        }

        return services.BuildServiceProvider();
    }

    private async Task<string> UploadAsync(Modality modality, byte[] image)
    {
        var container = storage.Clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
        await container.CreateIfNotExistsAsync();
        var name = $"sweep/{Guid.NewGuid():N}.png";
        await container.GetBlobClient(name).UploadAsync(new BinaryData(image));
        return name;
    }

    private static (DateTimeOffset From, DateTimeOffset To) AroundNow => (DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));

    [Fact]
    public async Task A_scan_the_trigger_never_delivered_gets_its_result_and_is_not_ingested_again()
    {
        using var pipeline = Pipeline();
        var sweeper = pipeline.GetRequiredService<MissedScanSweeper>();
        var query = pipeline.GetRequiredService<ResultsQuery>();
        var chest = await UploadAsync(Modality.Chest, TestImages.Uniform(200));
        var ct = await UploadAsync(Modality.Ct, TestImages.Uniform(40));
        var (from, to) = AroundNow;

        var first = await sweeper.SweepAsync(from, to, default);
        var second = await sweeper.SweepAsync(from, to, default);

        Assert.True(first >= 2, $"the first sweep ingested {first} scans");
        Assert.Equal(0, second);
        Assert.Equal(ScanStatus.Scored, (await query.GetLatestAsync(Modality.Chest, chest, default))?.Status);
        Assert.Equal(ScanStatus.Scored, (await query.GetLatestAsync(Modality.Ct, ct, default))?.Status);
    }

    [Fact]
    public async Task Scans_uploaded_outside_the_window_are_left_alone()
    {
        using var pipeline = Pipeline();
        var name = await UploadAsync(Modality.Chest, TestImages.Uniform(90));

        // The grace period: a scan this recent may still be on its way through the trigger.
        await pipeline.GetRequiredService<MissedScanSweeper>().SweepAsync(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(-1), default);

        Assert.Null(await pipeline.GetRequiredService<ResultsQuery>().GetLatestAsync(Modality.Chest, name, default));
    }

    [Fact]
    public async Task A_scan_whose_ingestion_fails_every_time_ends_as_failed_after_the_allowed_attempts_even_once_its_window_has_passed()
    {
        using var pipeline = Pipeline(new FailingScorer());
        var sweeper = pipeline.GetRequiredService<MissedScanSweeper>();
        var query = pipeline.GetRequiredService<ResultsQuery>();
        var name = await UploadAsync(Modality.Ct, TestImages.Uniform(60));
        var (from, to) = AroundNow;

        await sweeper.SweepAsync(from, to, default);
        var afterFirstAttempt = await query.GetLatestAsync(Modality.Ct, name, default);

        // The next sweep's window starts after the upload: the failed scan is retried all the same.
        await sweeper.SweepAsync(to, to.AddMinutes(1), default);
        var afterSecondAttempt = await query.GetLatestAsync(Modality.Ct, name, default);

        Assert.Null(afterFirstAttempt);
        Assert.Equal(ScanStatus.Failed, afterSecondAttempt?.Status);
        Assert.Contains("every retry", afterSecondAttempt!.Reason, StringComparison.Ordinal);
    }

    public void Dispose() => models.Dispose();

    private sealed class FailingScorer : IScanScorer
    {
        public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("The scorer is down.");
    }
}
