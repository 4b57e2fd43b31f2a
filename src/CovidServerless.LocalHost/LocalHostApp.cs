using CovidServerless.Core;
using CovidServerless.ServiceDefaults;
using Microsoft.Extensions.Configuration.Memory;

namespace CovidServerless.LocalHost;

/// <summary>
/// Builds the local host: the scan watcher (its blob trigger) against Azurite (or any storage account), plus the
/// results API and the browser app on http://127.0.0.1:7071. For machines without Functions Core Tools.
/// </summary>
public static class LocalHostApp
{
    public const string DefaultUrl = "http://127.0.0.1:7071";

    /// <summary>
    /// Host names the local API answers to (ASP.NET Core host filtering answers 400 to any other Host header): a web
    /// page that rebinds its own DNS name to 127.0.0.1 still sends its own name, so it cannot read results.
    /// </summary>
    public const string LoopbackHosts = "localhost;127.0.0.1;[::1]";

    /// <param name="configureServices">Last changes to the services before the app is built (tests: in-memory exporters).</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        // appsettings.json ships beside the binaries; relative paths (models/manifest.json) still resolve
        // against the working directory, the repository root for ./run.sh.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = [new("AllowedHosts", LoopbackHosts)] });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        builder.WebHost.UseUrls(builder.Configuration["Urls"] ?? DefaultUrl);
        RefuseNonLoopback(builder.Configuration);
        builder.AddServiceDefaults();
        builder.Services.AddCovidPipeline(builder.Configuration);
        builder.Services.AddRequestLimits(builder.Configuration);
        builder.Services.AddHostedService<InputContainers>();
        builder.Services.AddHostedService<ScanWatch>();
        builder.Services.AddHostedService<SeriesWatch>();
        builder.Services.AddHostedService<RetentionWatch>();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseRequestLimits();
        app.UseWebUi();
        app.MapDefaultEndpoints();
        app.MapResultsApi();
        return app;
    }

    /// <summary>
    /// The local host has no authentication and serves patients' results, so it listens on this machine only;
    /// serving other machines is the function app's job (Entra ID authentication, docs/security.md).
    /// </summary>
    private static void RefuseNonLoopback(IConfiguration configuration)
    {
        var exposed = ListenAddresses.NotLoopback(configuration);
        if (exposed.Count > 0)
        {
            throw new InvalidOperationException(
                $"The local host has no authentication, so it listens on loopback addresses only (localhost, 127.0.0.1, [::1]); " +
                $"{string.Join(", ", exposed)} is not one. Use Urls=http://127.0.0.1:7071, or deploy the function app (Entra ID sign-in) to serve other machines.");
        }
    }
}
