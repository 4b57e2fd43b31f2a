using CovidServerless.Core;
using CovidServerless.Core.Scoring;
using CovidServerless.ServiceDefaults;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace CovidServerless.Worker;

/// <summary>
/// The GPU scoring worker: the core ensemble behind POST /score/{modality}, with concurrent requests coalesced
/// into batched ONNX runs; /healthz (live), /readyz (every model loaded), /metrics, and /api/models and /api/health
/// as the hosts answer them.
/// </summary>
public static class WorkerApp
{
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        // The worker always scores in-process: it is the remote end.
        builder.Configuration[$"{ScoringOptions.SectionName}:{nameof(ScoringOptions.Mode)}"] = nameof(ScoringMode.InProcess);
        builder.AddServiceDefaults();
        builder.Services.AddCovidScoring(builder.Configuration).AddBatchingScorer();
        builder.Services.AddSingleton<WorkerMetrics>();

        var app = builder.Build();
        var metrics = app.Services.GetRequiredService<WorkerMetrics>();
        app.Services.GetRequiredService<BatchingScanScorer>().BatchScored += metrics.Batch;
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapScoring();
        return app;
    }
}
