using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.ServiceDefaults;

namespace CovidServerless.Worker;

/// <summary>
/// The GPU scoring worker: the core ensemble behind POST /score/{modality}, with concurrent requests coalesced
/// into batched ONNX runs; /healthz (live), /readyz (every model loaded), /metrics (OpenTelemetry's Prometheus
/// exporter), and /api/models and /api/health as the hosts answer them. Everything but the two probes needs an Entra
/// ID token (<see cref="WorkerAuthentication"/>).
/// </summary>
public static class WorkerApp
{
    /// <param name="configureServices">Last changes to the services before the app is built (tests: a signing key to trust).</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        // The worker always scores in-process: it is the remote end.
        builder.Configuration[$"{ScoringOptions.SectionName}:{nameof(ScoringOptions.Mode)}"] = nameof(ScoringMode.InProcess);
        builder.AddServiceDefaults(prometheus: true);
        builder.Services.AddCovidScoring(builder.Configuration).AddBatchingScorer();
        builder.AddWorkerAuthentication();
        builder.Services.AddRequestLimits(builder.Configuration);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        var catalog = app.Services.GetRequiredService<ModelCatalog>();
        PipelineTelemetry.ObserveModelsOnCuda(() => catalog.OnCuda);
        app.UseRequestLimits();
        app.MapDefaultEndpoints();
        app.MapPrometheusScrapingEndpoint();
        app.MapScoring();
        return app;
    }
}
