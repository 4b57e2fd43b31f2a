using Azure.Core;
using Azure.Identity;
using CovidServerless.Core.Api;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Security;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core;

/// <summary>Registers the core pipeline. Hosts call these and bind their triggers and routes to the services.</summary>
public static class PipelineServiceCollectionExtensions
{
    /// <summary>Decoding, the model catalog (loaded once, at start) and the in-process scorer. No storage.</summary>
    public static IServiceCollection AddCovidScoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ImageLimitsOptions>().Bind(configuration.GetSection(ImageLimitsOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(
                o => o.Dicom.MaxInflatedBytes > 0 && o.Dicom.DefaultWindows.Values.All(w => w.Width >= 1)
                    && ModalityNames.All.All(m => o.Dicom.ModalitiesFor(m).Count > 0),
                "Images:Dicom needs MaxInflatedBytes > 0, default windows at least 1 wide and at least one DICOM modality for each container.")
            .Validate(
                o => o.MaxDecodedPixelsInFlight >= o.MaxPixels,
                "Images:MaxDecodedPixelsInFlight must be at least Images:MaxPixels, or the largest image allowed could never be decoded.")
            .ValidateOnStart();
        services.AddOptions<ModelOptions>().Bind(configuration.GetSection(ModelOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DecodedPixelBudget>();
        services.AddOptions<HeatmapOptions>().Bind(configuration.GetSection(HeatmapOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ScanDecoder>();
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<EnsembleRunner>();
        services.TryAddSingleton<InProcessScanScorer>();
        services.TryAddSingleton<LocalScoringStatus>();
        services.AddOptions<ScoringOptions>().Bind(configuration.GetSection(ScoringOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        var scoring = configuration.GetSection(ScoringOptions.SectionName).Get<ScoringOptions>() ?? new ScoringOptions();
        if (scoring.Mode == ScoringMode.Remote)
        {
            services.AddWorkerTokens(configuration, scoring);
            services.AddRemoteScoring(scoring);
        }
        else
        {
            services.TryAddSingleton<IScoringStatus>(sp => sp.GetRequiredService<LocalScoringStatus>());
            if (scoring.BatchInProcess)
            {
                services.AddBatchingScorer();
            }
            else
            {
                services.TryAddSingleton<IScanScorer>(sp => sp.GetRequiredService<InProcessScanScorer>());
            }
        }

        // Models load at start unless every scan goes to the worker with no in-process fallback.
        if (scoring.Mode == ScoringMode.InProcess || scoring.FallbackToInProcess)
        {
            services.AddHostedService<ModelWarmupService>();
            services.AddHealthChecks().AddCheck<ModelCatalogHealthCheck>("models", tags: ["ready"]);
        }

        return services;
    }

    /// <summary>For the scoring worker: concurrent requests are coalesced into batched model runs.</summary>
    public static IServiceCollection AddBatchingScorer(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(BatchingScanScorer)))
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<BatchingScanScorer>();
        services.Replace(ServiceDescriptor.Singleton<IScanScorer>(sp => sp.GetRequiredService<BatchingScanScorer>()));
        services.AddHealthChecks().AddCheck<BatchingScorerHealthCheck>("batching-scorer", tags: ["ready"]);
        return services;
    }

    /// <summary>Calls to the scoring worker, at least half of them failed, within its window that open its circuit breaker.</summary>
    public const int RemoteBreakerMinimumCalls = 4;

    private static void AddRemoteScoring(this IServiceCollection services, ScoringOptions scoring)
    {
        var worker = new Uri(scoring.RemoteEndpoint!.ToString().TrimEnd('/') + "/");
        var scorerClient = services.AddHttpClient(RemoteScanScorer.HttpClientName, client =>
            {
                client.BaseAddress = worker;
                client.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns the timeouts
            });
        scorerClient.AddStandardResilienceHandler(resilience =>
            {
                var total = TimeSpan.FromSeconds(scoring.RemoteTimeoutSeconds);
                resilience.TotalRequestTimeout.Timeout = total;
                resilience.AttemptTimeout.Timeout = TimeSpan.FromTicks(Math.Max(total.Ticks / 3, TimeSpan.FromSeconds(1).Ticks));
                // Tuned for low volume: the standard breaker opens only after 100 calls in its window, which an
                // overnight trickle never makes, so every scan paid the whole retry budget of a dead worker. Four calls,
                // half of them failed, within two minutes open it; it tries the worker again after 30 s.
                resilience.CircuitBreaker.MinimumThroughput = RemoteBreakerMinimumCalls;
                resilience.CircuitBreaker.FailureRatio = 0.5;
                resilience.CircuitBreaker.SamplingDuration = TimeSpan.FromTicks(Math.Max(resilience.AttemptTimeout.Timeout.Ticks * 2, TimeSpan.FromMinutes(2).Ticks));
                resilience.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(30);
                resilience.Retry.MaxRetryAttempts = 2;
                resilience.Retry.UseJitter = true;
            });
        scorerClient.AddHttpMessageHandler<WorkerTokenHandler>(); // inside the retries: each attempt gets a current token
        services.TryAddSingleton(sp => new RemoteScanScorer(
            sp.GetRequiredService<ScanDecoder>(),
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<WorkerAvailability>(),
            scoring.FallbackToInProcess ? sp.GetRequiredService<InProcessScanScorer>() : null,
            sp.GetRequiredService<ILogger<RemoteScanScorer>>()));
        services.TryAddSingleton<IScanScorer>(sp => sp.GetRequiredService<RemoteScanScorer>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WorkerAvailability>();
        services.AddHttpClient(RemoteScoringStatus.HttpClientName, client =>
        {
            client.BaseAddress = worker;
            client.Timeout = TimeSpan.FromSeconds(scoring.RemoteTimeoutSeconds);
        }).AddHttpMessageHandler<WorkerTokenHandler>();
        services.TryAddSingleton<IScoringStatus>(sp => new RemoteScoringStatus(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<WorkerAvailability>(),
            sp.GetRequiredService<IOptions<ScoringOptions>>(),
            scoring.FallbackToInProcess ? sp.GetRequiredService<LocalScoringStatus>() : null));
    }

    /// <summary>The worker's bearer tokens: Azure.Identity's credential for <see cref="WorkerTokenOptions.Scope"/>.</summary>
    private static void AddWorkerTokens(this IServiceCollection services, IConfiguration configuration, ScoringOptions scoring)
    {
        services.AddOptions<WorkerTokenOptions>().Bind(configuration.GetSection(WorkerTokenOptions.SectionName))
            .Validate(options => WorkerTokenOptions.Check(options, scoring.RemoteEndpoint) is null,
                WorkerTokenOptions.Check(new WorkerTokenOptions(), scoring.RemoteEndpoint)?.ErrorMessage ?? "WorkerToken")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton<TokenCredential>(RemoteScanScorer.HttpClientName, (sp, _) =>
            sp.GetRequiredService<IOptions<WorkerTokenOptions>>().Value.ManagedIdentityClientId is { Length: > 0 } clientId
                ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
                : new DefaultAzureCredential());
        services.TryAddTransient(sp => new WorkerTokenHandler(
            sp.GetRequiredKeyedService<TokenCredential>(RemoteScanScorer.HttpClientName),
            sp.GetRequiredService<IOptions<WorkerTokenOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
    }

    /// <summary>The whole pipeline: scoring plus results table, results queue, queries and blob ingestion.</summary>
    public static IServiceCollection AddCovidPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCovidScoring(configuration);
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageClients>();
        services.TryAddSingleton<ResultStore>();
        services.TryAddSingleton<ResultNotifier>();
        services.TryAddSingleton<ResultsQuery>();
        services.TryAddSingleton<Series.SeriesStore>();
        services.AddOptions<Series.SeriesOptions>().Bind(configuration.GetSection(Series.SeriesOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Series.SeriesAggregator>();
        services.TryAddSingleton<HeatmapStore>();
        services.TryAddSingleton<ScanProcessor>();
        services.TryAddSingleton<BlobScanIngestor>();
        services.TryAddSingleton<PoisonScanHandler>();
        services.AddOptions<ScanWatchOptions>().Bind(configuration.GetSection(ScanWatchOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ScanWatcher>();
        services.AddOptions<ResultRetentionOptions>().Bind(configuration.GetSection(ResultRetentionOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate<IOptions<ScanWatchOptions>>(
                (retention, watch) => retention.RetentionDays == 0 || retention.RetentionDays * 24 >= watch.Value.LookbackHours,
                "Results:RetentionDays must cover ScanWatch:LookbackHours (or be 0), or the start-up check would score swept scans again.")
            .ValidateOnStart();
        services.TryAddSingleton<ResultRetention>();
        services.TryAddSingleton<ScanBacklog>();
        services.TryAddSingleton<StoppedScans>();
        services.TryAddSingleton<Api.ResultsApi>();
        services.TryAddSingleton<Api.ScanUploadApi>();
        return services;
    }

    /// <summary>The function app's API access rule (<see cref="Api.ApiAccess"/>), from the "ApiAccess" section.</summary>
    public static IServiceCollection AddApiAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Api.ApiAccessOptions>().Bind(configuration.GetSection(Api.ApiAccessOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Api.ApiAccess>();
        return services;
    }
}
