using CovidServerless.Core;
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
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = $"http://127.0.0.1:{Azurite.FreePort()}",
            ["Scoring:FallbackToInProcess"] = "false",
            ["Scoring:RemoteTimeoutSeconds"] = "2",
            ["Models:ManifestPath"] = models.ManifestPath,
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();

        var scorer = services.GetRequiredService<IScanScorer>();

        Assert.IsType<RemoteScanScorer>(scorer);
        await Assert.ThrowsAsync<ScoringUnavailableException>(() => scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), default));
    }
}
