using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>/api/health and /api/models of a host that sends its scans to the scoring worker.</summary>
public sealed class RemoteScoringStatusTests
{
    [Fact]
    public async Task Without_fallback_the_host_reports_the_workers_models_and_readiness_and_loads_none_of_its_own()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        var workerUrl = $"http://127.0.0.1:{Azurite.FreePort()}";
        await using var worker = WorkerApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = workerUrl,
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await worker.StartAsync();

        // The host has no models at all: had it loaded its own catalog to answer, it would report a missing manifest.
        await using var host = Host(workerUrl, fallback: false, manifestPath: "/nonexistent/manifest.json");
        var status = host.GetRequiredService<IScoringStatus>();

        var health = await status.GetHealthAsync(default);
        var listed = await status.GetModelsAsync(default);

        var report = Assert.IsType<HealthReport>(health.Body);
        Assert.Equal((200, HealthReport.Ready, 8), (health.Status, report.Status, report.ModelsLoaded));
        Assert.Equal(models.ManifestPath, report.Manifest);
        Assert.Equal(new WorkerHealth(workerUrl + "/", HealthReport.Ready), report.Worker);
        Assert.Equal(200, listed.Status);
        Assert.Equal(8, ((JsonElement)listed.Body).GetArrayLength());

        await worker.StopAsync();
        var down = await status.GetHealthAsync(default);

        var downReport = Assert.IsType<HealthReport>(down.Body);
        Assert.Equal((503, HealthReport.NotReady, WorkerHealth.Unreachable), (down.Status, downReport.Status, downReport.Worker!.Status));
        Assert.Contains($"The scoring worker at {workerUrl}/ did not answer", Assert.Single(downReport.Problems), StringComparison.Ordinal);
        Assert.Equal(503, (await status.GetModelsAsync(default)).Status);
    }

    [Fact]
    public async Task With_fallback_the_host_is_ready_on_its_own_models_and_says_the_worker_is_unreachable()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        var workerUrl = $"http://127.0.0.1:{Azurite.FreePort()}";
        await using var host = Host(workerUrl, fallback: true, manifestPath: models.ManifestPath);
        var status = host.GetRequiredService<IScoringStatus>();

        var health = await status.GetHealthAsync(default);
        var listed = await status.GetModelsAsync(default);

        var report = Assert.IsType<HealthReport>(health.Body);
        Assert.Equal((200, HealthReport.Ready, 8), (health.Status, report.Status, report.ModelsLoaded));
        Assert.Equal(WorkerHealth.Unreachable, report.Worker!.Status);
        Assert.NotNull(report.Worker.Problem);
        Assert.Equal(8, Assert.IsAssignableFrom<IReadOnlyList<ModelDescription>>(listed.Body).Count);
    }

    private static ServiceProvider Host(string workerUrl, bool fallback, string manifestPath)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = workerUrl,
            ["Scoring:FallbackToInProcess"] = fallback ? "true" : "false",
            ["Models:ManifestPath"] = manifestPath,
        }).Build();
        return new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();
    }
}
