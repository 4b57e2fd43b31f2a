using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

public sealed class RemoteScorerFailureTests
{
    [Fact]
    public async Task Without_fallback_an_unreachable_worker_fails_the_attempt_so_the_trigger_retries_it()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        await using var services = UnreachableWorkerWithoutFallback(models);

        var scorer = services.GetRequiredService<IScanScorer>();

        Assert.IsType<RemoteScanScorer>(scorer);
        await Assert.ThrowsAsync<ScoringUnavailableException>(() => scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), default));
    }

    [Theory]
    [InlineData(0, "The file is empty")]
    [InlineData(1, "not a readable image")]
    public async Task A_file_that_cannot_be_a_scan_is_rejected_before_the_worker_is_asked_so_a_worker_outage_does_not_turn_it_into_a_failure(
        int kind, string reason)
    {
        using var models = ModelFolder.WithStandardEnsembles();
        await using var services = UnreachableWorkerWithoutFallback(models);
        byte[] file = kind == 0 ? [] : "patient: not an image"u8.ToArray();

        var ex = await Assert.ThrowsAsync<ScanRejectedException>(() => services.GetRequiredService<IScanScorer>().ScoreAsync(Modality.Ct, file, default));

        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider UnreachableWorkerWithoutFallback(ModelFolder models)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = $"http://127.0.0.1:{Azurite.FreePort()}",
            ["Scoring:FallbackToInProcess"] = "false",
            ["Scoring:RemoteTimeoutSeconds"] = "2",
            ["Models:ManifestPath"] = models.ManifestPath,
        }).Build();
        return new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();
    }
}
