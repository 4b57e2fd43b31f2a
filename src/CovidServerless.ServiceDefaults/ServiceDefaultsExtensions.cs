using CovidServerless.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CovidServerless.ServiceDefaults;

/// <summary>
/// What every ASP.NET Core host of the project shares: OpenTelemetry logs, metrics (the pipeline's meter, ASP.NET
/// Core, HttpClient, runtime) and traces (their URLs without blob names: <see cref="UrlRedaction"/>), exported over
/// OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (Azure Container Apps' managed OpenTelemetry agent and the Aspire
/// dashboard both take OTLP).
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// Log levels every host starts from; its appsettings, environment or app settings override them. Blob names may
    /// carry patients' names, and these categories write request URLs at Information: ASP.NET Core's request logging
    /// (/api/scans/{modality}/{blobName}) and the Azure SDK's (blob URLs).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> DefaultLogLevels { get; } = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Azure.Core"] = "Warning",
    };

    /// <param name="prometheus">Also collect metrics for a Prometheus scrape (map it with MapPrometheusScrapingEndpoint).</param>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, bool prometheus = false)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = DefaultLogLevels });
        builder.Services.AddHealthChecks();
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;

            // ASP.NET Core's request scope carries RequestPath, and the results API's paths hold blob names.
            logging.IncludeScopes = false;
        });
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(PipelineTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .WithTracing(tracing => tracing
                .AddSource(PipelineTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddProcessor<UrlRedaction>());
        if (prometheus)
        {
            telemetry.WithMetrics(metrics => metrics.AddPrometheusExporter());
        }

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// The health endpoints every host serves: /healthz (the process is alive; runs no check) and /readyz (every check
    /// tagged "ready" passes, e.g. every model of the manifest loaded). Both answer with the status word only, and
    /// without authentication, for the platform's probes.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).AllowAnonymous();
        return app;
    }
}
