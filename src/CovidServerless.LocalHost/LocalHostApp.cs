using CovidServerless.Core;
using CovidServerless.ServiceDefaults;

namespace CovidServerless.LocalHost;

/// <summary>
/// Builds the local host: the scan watcher (its blob trigger) against Azurite (or any storage account), plus the
/// results API and the browser app on http://127.0.0.1:7071. For machines without Functions Core Tools.
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
        builder.Services.AddHostedService<InputContainers>();
        builder.Services.AddHostedService<ScanWatch>();

        var app = builder.Build();
        app.UseWebUi();
        app.MapResultsApi();
        return app;
    }
}
