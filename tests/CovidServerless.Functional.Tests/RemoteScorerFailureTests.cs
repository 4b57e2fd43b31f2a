using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

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

    [Fact]
    public async Task A_worker_that_fails_every_call_opens_the_breaker_after_four_calls_so_later_scans_go_straight_to_the_fallback()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var worker = new FailingWorker();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = "http://127.0.0.1:9", // loopback: no worker token needed; the handler below answers
            ["Scoring:FallbackToInProcess"] = "true",
            ["Models:ManifestPath"] = models.ManifestPath,
        }).Build();
        var collection = new ServiceCollection().AddLogging().AddSingleton<TimeProvider>(time).AddCovidScoring(configuration);
        collection.AddHttpClient(RemoteScanScorer.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => worker);
        await using var services = collection.BuildServiceProvider();
        var scorer = services.GetRequiredService<IScanScorer>();

        var scores = new List<EnsembleScore>();
        for (var scan = 0; scan < 4; scan++)
        {
            scores.Add(await UntilDoneAsync(scorer.ScoreAsync(Modality.Chest, TestImages.Uniform((byte)(60 + scan)), default), time));
        }

        // The first scan's three attempts and the second's first: the breaker then opens, and no later scan asks the
        // worker (the standard breaker, needing 100 calls, let each of the four make three: 12).
        Assert.Equal(4, worker.Calls);
        Assert.All(scores, score => Assert.Equal(4, score.Models.Count)); // each scored by the in-process fallback
    }

    /// <summary>Moves fake time on while the call waits (its retry delays), in steps well inside its timeouts.</summary>
    private static async Task<T> UntilDoneAsync<T>(Task<T> task, FakeTimeProvider time)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!task.IsCompleted && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.WhenAny(task, Task.Delay(5));
        }

        return await task;
    }

    private sealed class FailingWorker : HttpMessageHandler
    {
        private int calls;

        public int Calls => Volatile.Read(ref calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable));
        }
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
