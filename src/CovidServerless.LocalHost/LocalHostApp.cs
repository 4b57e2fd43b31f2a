using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.ServiceDefaults;
using Microsoft.Azure.WebJobs;
using Microsoft.Extensions.Options;

namespace CovidServerless.LocalHost;

/// <summary>
/// Builds the local host: the WebJobs SDK running the blob and poison-queue triggers against Azurite (or any
/// storage account), plus the results API on http://127.0.0.1:7071. For machines without Functions Core Tools.
/// </summary>
public static class LocalHostApp
{
    public const string DefaultUrl = "http://127.0.0.1:7071";

    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null)
    {
        // appsettings.json ships beside the binaries; relative paths (models/manifest.json) still resolve
        // against the working directory, the repository root for ./run.sh.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        builder.WebHost.UseUrls(builder.Configuration["Urls"] ?? DefaultUrl);
        builder.AddServiceDefaults();
        builder.Services.AddCovidPipeline(builder.Configuration);
        builder.Services.AddSingleton<ScanTriggers>();
        builder.Services.AddHostedService<InputContainers>();
        builder.Services.AddHostedService<MissedScanSweep>();
        builder.Host.ConfigureWebJobs(webJobs =>
        {
            // The default host id derives from the entry assembly; a fixed one keeps receipts and queue names
            // stable (and within storage name limits) whoever starts the host.
            webJobs.UseHostId(builder.Configuration["WebJobs:HostId"] ?? "covidserverless-local");
            webJobs.AddAzureStorageCoreServices();
            webJobs.AddAzureStorageBlobs(blobs => blobs.MaxDegreeOfParallelism = TriggerConcurrency(builder.Configuration));
            webJobs.AddAzureStorageQueues(queues =>
            {
                // Fast polling suits a local pipeline; the defaults back off to a minute.
                queues.MaxPollingInterval = TimeSpan.FromSeconds(2);
                queues.BatchSize = TriggerConcurrency(builder.Configuration);
                queues.NewBatchThreshold = 0;
            });
        });

        var app = builder.Build();
        app.MapResultsApi();
        return app;
    }

    /// <summary>
    /// Stops a host built here. WebJobs' blob listener can stop its shared queue timer twice when a host stops
    /// (notably moments after it started); that throws after everything has stopped, so it is swallowed here.
    /// </summary>
    public static async Task StopAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StopAsync();
        }
        catch (InvalidOperationException ex) when (IsDoubleTimerStop(ex))
        {
        }
    }

    /// <summary>Runs until Ctrl-C or SIGTERM, then stops as <see cref="StopAsync"/> does.</summary>
    public static async Task RunAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.RunAsync();
        }
        catch (InvalidOperationException ex) when (IsDoubleTimerStop(ex))
        {
        }
    }

    private static bool IsDoubleTimerStop(InvalidOperationException ex) =>
        ex.Message.Contains("timer has already been stopped", StringComparison.Ordinal);

    /// <summary>
    /// Scans handled at once by the triggers. The scorer runs at most Models:MaxConcurrentScans of them on the CPU;
    /// one more lets downloads and table writes overlap with scoring instead of the default 8 x cores. With
    /// Scoring:BatchInProcess, a batch's worth may wait together, since they are scored as one batch.
    /// </summary>
    private static int TriggerConcurrency(ConfigurationManager configuration)
    {
        if (configuration.GetValue<int?>("WebJobs:TriggerConcurrency") is { } configured and > 0)
        {
            return configured;
        }

        var scoring = configuration.GetSection(ScoringOptions.SectionName).Get<ScoringOptions>() ?? new ScoringOptions();
        return scoring.BatchInProcess
            ? scoring.MaxBatchSize
            : configuration.GetValue($"{ModelOptions.SectionName}:{nameof(ModelOptions.MaxConcurrentScans)}", new ModelOptions().MaxConcurrentScans) + 1;
    }
}
