using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.LocalHost;
using CovidServerless.TestSupport;

namespace CovidServerless.Functional.Tests;

public sealed class MissingModelTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_host_whose_manifest_names_a_missing_file_serves_but_is_not_ready_and_names_the_file()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        File.Delete(Path.Combine(models.Root, "chest", "resnet50.onnx"));
        await using var app = LocalHostApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "None",
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        var health = await http.GetAsync("/api/health");
        var body = await health.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("not-ready", body.GetProperty("status").GetString());
        Assert.Contains("resnet50.onnx", body.GetProperty("problems")[0].GetString(), StringComparison.Ordinal);
        await app.StopAsync();
    }
}
