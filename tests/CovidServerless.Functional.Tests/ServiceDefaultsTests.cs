using System.Diagnostics;
using CovidServerless.ServiceDefaults;
using CovidServerless.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace CovidServerless.Functional.Tests;

/// <summary>What every host (Functions app, local host, worker) gets from the service defaults.</summary>
[Collection(ProcessWideTracing.Name)]
public sealed class ServiceDefaultsTests
{
    private const string RequestLogging = "Microsoft.AspNetCore.Hosting.Diagnostics";

    [Fact]
    public void Request_urls_which_carry_blob_names_are_not_logged_at_information()
    {
        using var host = Host([]);

        Assert.False(Enabled(host, RequestLogging, LogLevel.Information));
        Assert.False(Enabled(host, "Azure.Core", LogLevel.Information));
        Assert.True(Enabled(host, RequestLogging, LogLevel.Warning));
        Assert.True(Enabled(host, "CovidServerless.Core.Ingestion.ScanProcessor", LogLevel.Information));
    }

    [Fact]
    public void A_host_setting_still_decides_over_the_default_log_levels()
    {
        using var host = Host([new("Logging:LogLevel:Microsoft.AspNetCore", "Information")]);

        Assert.True(Enabled(host, RequestLogging, LogLevel.Information));
    }

    [Fact]
    public async Task Traced_http_requests_keep_no_blob_name_in_their_urls()
    {
        var exported = new List<Activity>();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["Urls"] = "http://127.0.0.1:0";
        builder.AddServiceDefaults();
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(exported));
        await using var app = builder.Build();
        app.MapGet("/api/scans/{modality}/{**blobName}", () => Results.NotFound());
        await app.StartAsync();
        var url = app.Urls.Single();

        using (var http = new HttpClient())
        {
            // The results API's route, and the shape of a blob download's URL, with a patient's name in the blob name.
            await http.GetAsync($"{url}/api/scans/chest/ward3/Jane%20Doe.png?history=true");
        }

        await app.StopAsync();

        var httpSpans = exported.Where(a => a.Kind is ActivityKind.Client or ActivityKind.Server).ToList();
        Assert.Contains(httpSpans, a => a.Kind == ActivityKind.Server);
        Assert.Contains(httpSpans, a => a.Kind == ActivityKind.Client);
        Assert.All(httpSpans, span => Assert.DoesNotContain(
            span.TagObjects, tag => tag.Value?.ToString()?.Contains("Jane", StringComparison.Ordinal) == true));
        Assert.Contains(httpSpans, a => (a.GetTagItem("url.path") as string) == "/api/scans/{modality}/{**blobName}");
    }

    private static IHost Host(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(
            new HostApplicationBuilderSettings { Args = [], ContentRootPath = Path.GetTempPath() });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        return builder.Build();
    }

    private static bool Enabled(IHost host, string category, LogLevel level) =>
        host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(category).IsEnabled(level);
}

/// <summary>
/// A tracer provider listens to every HTTP activity of the process: its test runs alone, so that no other test's
/// requests are exported into its list while it reads it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTracing
{
    public const string Name = "process-wide tracing";
}
