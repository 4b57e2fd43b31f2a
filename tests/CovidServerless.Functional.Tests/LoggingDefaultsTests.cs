using CovidServerless.ServiceDefaults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CovidServerless.Functional.Tests;

/// <summary>The log levels every host (Functions app, local host, worker) gets from the service defaults.</summary>
public sealed class LoggingDefaultsTests
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
    public void A_host_setting_still_decides_over_the_defaults()
    {
        using var host = Host([new("Logging:LogLevel:Microsoft.AspNetCore", "Information")]);

        Assert.True(Enabled(host, RequestLogging, LogLevel.Information));
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
