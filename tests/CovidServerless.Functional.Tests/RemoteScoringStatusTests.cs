using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>/api/health and /api/models of a host that sends its scans to the scoring worker.</summary>
public sealed class RemoteScoringStatusTests
{
    [Fact]
    public async Task Without_fallback_health_reports_the_worker_as_scoring_last_found_it_without_asking_it_and_models_are_the_workers()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        await using var worker = WorkerApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["WorkerAuth:DisabledForLocalDevelopment"] = "true",
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await worker.StartAsync();
        var workerUrl = worker.Urls.Single();

        // The host has no models: had it loaded a catalog of its own to answer, it would report a missing manifest.
        await using var host = Host(workerUrl, fallback: false, manifestPath: "/nonexistent/manifest.json", timeoutSeconds: 30);
        var status = host.GetRequiredService<IScoringStatus>();
        var scorer = host.GetRequiredService<IScanScorer>();

        var beforeAnyScan = await HealthAsync(status);
        var listed = await status.GetModelsAsync(default);
        await scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), default);
        var afterAScan = await HealthAsync(status);
        await worker.StopAsync();
        var afterTheWorkerStopped = await HealthAsync(status);
        await Assert.ThrowsAsync<ScoringUnavailableException>(() => scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(100), default));
        var afterAFailedScan = await HealthAsync(status);

        Assert.Equal((200, HealthReport.Ready, 0, null), (beforeAnyScan.Status, beforeAnyScan.Report.Status, beforeAnyScan.Report.ModelsLoaded, beforeAnyScan.Report.Manifest));
        Assert.Equal(new WorkerHealth(workerUrl + "/", WorkerHealth.Unknown), beforeAnyScan.Report.Worker);
        Assert.Equal(8, ((JsonElement)listed.Body).GetArrayLength());
        Assert.Equal((200, WorkerHealth.Answering), (afterAScan.Status, afterAScan.Report.Worker!.Status));
        Assert.Equal(afterAScan, afterTheWorkerStopped); // health does not ask the worker (it would wake one scaled to zero)
        Assert.Equal((503, HealthReport.NotReady, WorkerHealth.Unavailable), (afterAFailedScan.Status, afterAFailedScan.Report.Status, afterAFailedScan.Report.Worker!.Status));
        Assert.Contains($"The scoring worker at {workerUrl}/ was unavailable at", Assert.Single(afterAFailedScan.Report.Problems), StringComparison.Ordinal);
        Assert.Equal(503, (await status.GetModelsAsync(default)).Status);
    }

    [Fact]
    public async Task With_fallback_the_host_is_ready_on_its_own_models_and_says_when_the_worker_was_unavailable()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        var workerUrl = $"http://127.0.0.1:{Azurite.FreePort()}";
        await using var host = Host(workerUrl, fallback: true, manifestPath: models.ManifestPath, timeoutSeconds: 2); // nothing listens there
        var status = host.GetRequiredService<IScoringStatus>();

        await host.GetRequiredService<IScanScorer>().ScoreAsync(Modality.Ct, TestImages.Uniform(100), default); // scored in-process
        var health = await HealthAsync(status);
        var listed = await status.GetModelsAsync(default);

        Assert.Equal((200, HealthReport.Ready, 8, models.ManifestPath), (health.Status, health.Report.Status, health.Report.ModelsLoaded, health.Report.Manifest));
        Assert.Equal(WorkerHealth.Unavailable, health.Report.Worker!.Status);
        Assert.NotNull(health.Report.Worker.Problem);
        Assert.Equal(8, Assert.IsAssignableFrom<IReadOnlyList<ModelDescription>>(listed.Body).Count);
    }

    private static async Task<(int Status, HealthReport Report)> HealthAsync(IScoringStatus status)
    {
        var response = await status.GetHealthAsync(default);
        return (response.Status, Assert.IsType<HealthReport>(response.Body));
    }

    /// <param name="timeoutSeconds">
    /// The remote budget, a third of it per attempt: a worker that must answer gets room for its first scan on a
    /// loaded machine (at 2 s, a first scan slower than 1 s failed the test).
    /// </param>
    private static ServiceProvider Host(string workerUrl, bool fallback, string manifestPath, int timeoutSeconds)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = workerUrl,
            ["Scoring:FallbackToInProcess"] = fallback ? "true" : "false",
            ["Scoring:RemoteTimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Models:ManifestPath"] = manifestPath,
        }).Build();
        return new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();
    }
}
