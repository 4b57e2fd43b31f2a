using CovidServerless.Core;
using CovidServerless.Core.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CovidServerless.Cli;

/// <summary>The core services the commands use, configured from environment variables and command options.</summary>
internal static class CliServices
{
    public static ServiceProvider Create(string? manifestPath = null, bool storage = false)
    {
        // The CLI scores one file after another: batching would have nothing to coalesce.
        var settings = new Dictionary<string, string?> { ["Scoring:BatchInProcess"] = "false" };
        if (manifestPath is not null)
        {
            settings["Models:ManifestPath"] = manifestPath;
        }

        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("AzureWebJobsStorage", "UseDevelopmentStorage=true")])
            .AddEnvironmentVariables()
            .AddInMemoryCollection(settings)
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true)
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace) // stdout carries results (--json)
                .SetMinimumLevel(LogLevel.Warning));
        if (storage)
        {
            services.AddCovidPipeline(configuration);
        }
        else
        {
            services.AddCovidScoring(configuration);
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>True when the modality's models loaded (and nothing in the manifest failed); otherwise prints why.</summary>
    public static async Task<bool> ModelsReadyAsync(IServiceProvider services, Modality modality)
    {
        try
        {
            services.GetRequiredService<ModelCatalog>().For(modality);
            return true;
        }
        catch (ModelsUnavailableException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return false;
        }
    }
}
