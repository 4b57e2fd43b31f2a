using System.Net;
using CovidServerless.LocalHost;
using CovidServerless.TestSupport;

namespace CovidServerless.Functional.Tests;

/// <summary>The local host, which has no authentication, serves this machine only.</summary>
public sealed class LocalHostExposureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Theory]
    [InlineData("evil.example", HttpStatusCode.BadRequest)]
    [InlineData("evil.example:7071", HttpStatusCode.BadRequest)]
    [InlineData("localhost", HttpStatusCode.OK)]
    [InlineData("127.0.0.1", HttpStatusCode.OK)]
    [InlineData("[::1]", HttpStatusCode.OK)]
    public async Task The_api_answers_only_requests_addressed_to_a_loopback_name_so_dns_rebinding_pages_cannot_read_it(string hostHeader, HttpStatusCode expected)
    {
        using var models = ModelFolder.WithStandardEnsembles();
        await using var app = LocalHostApp.Build([], Settings("http://127.0.0.1:0", models.ManifestPath));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/scans");
        request.Headers.Host = hostHeader;

        using var response = await http.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        await app.StopAsync();
    }

    [Theory]
    [InlineData("http://0.0.0.0:7071")]
    [InlineData("http://*:7071")]
    [InlineData("http://192.168.1.20:7071")]
    [InlineData("http://127.0.0.1:7071;http://[::]:7071")]
    public void The_local_host_refuses_to_start_on_an_address_other_machines_reach(string urls)
    {
        using var models = ModelFolder.WithStandardEnsembles();

        var refusal = Assert.Throws<InvalidOperationException>(() => LocalHostApp.Build([], Settings(urls, models.ManifestPath)));

        Assert.Contains("The local host has no authentication, so it listens on loopback addresses only", refusal.Message, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> Settings(string urls, string manifestPath) => new()
    {
        ["Urls"] = urls,
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Models:ManifestPath"] = manifestPath,
        ["Logging:LogLevel:Default"] = "Warning",
    };
}
