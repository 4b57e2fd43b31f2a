using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CovidServerless.Core;

/// <summary>Registers the core pipeline. Hosts call these and bind their triggers and routes to the services.</summary>
public static class PipelineServiceCollectionExtensions
{
    /// <summary>Decoding, the model catalog (loaded once, at start) and the in-process scorer. No storage.</summary>
    public static IServiceCollection AddCovidScoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ImageLimitsOptions>().Bind(configuration.GetSection(ImageLimitsOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ModelOptions>().Bind(configuration.GetSection(ModelOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ScanDecoder>();
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<InProcessScanScorer>();
        services.TryAddSingleton<IScanScorer>(sp => sp.GetRequiredService<InProcessScanScorer>());
        services.AddHostedService<ModelWarmupService>();
        services.AddHealthChecks().AddCheck<ModelCatalogHealthCheck>("models", tags: ["ready"]);
        return services;
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
        services.TryAddSingleton<ScanProcessor>();
        services.TryAddSingleton<BlobScanIngestor>();
        services.TryAddSingleton<PoisonScanHandler>();
        services.TryAddSingleton<Api.ResultsApi>();
        return services;
    }
}
