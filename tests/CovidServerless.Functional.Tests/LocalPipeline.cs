using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.LocalHost;
using CovidServerless.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The whole local pipeline as a user runs it: a private Azurite, the local host (WebJobs triggers + HTTP API) on
/// a free loopback port, and the standard tiny test ensembles. Shared by the end-to-end tests.
/// </summary>
public class LocalPipeline : IAsyncLifetime
{
    public const long MaxBytes = 2 * 1024 * 1024;

    private WebApplication? app;

    public Azurite Azurite { get; } = new();

    public LocalPipeline()
        : this(ModelFolder.WithStandardEnsembles())
    {
    }

    /// <summary>A pipeline on other models (a subclass adds the committed input gate).</summary>
    protected LocalPipeline(ModelFolder models)
    {
        Models = models;
    }

    public ModelFolder Models { get; }

    /// <summary>The local host's API; its address is set once the host listens (on a port the system gave it).</summary>
    public HttpClient Http { get; } = new();

    internal StorageHarness Storage => new(Azurite);

    public BlobServiceClient Blobs => Storage.Clients.Blobs;

    public IServiceProvider Services => app!.Services;

    /// <summary>Extra settings for the local host (a subclass points it at a scoring worker).</summary>
    protected virtual Task<IDictionary<string, string?>> HostSettingsAsync() => Task.FromResult<IDictionary<string, string?>>(new Dictionary<string, string?>());

    /// <summary>Last changes to the local host's services (a subclass adds in-memory telemetry exporters).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync()
    {
        await Azurite.StartAsync();
        foreach (var container in new[] { ScanContainers.Chest, ScanContainers.Ct })
        {
            await Blobs.GetBlobContainerClient(container).CreateIfNotExistsAsync();
        }

        var settings = new Dictionary<string, string?>
        {
            // Port 0: the system gives a free port at bind time, which no other process can take in between.
            ["Urls"] = "http://127.0.0.1:0",
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["Models:ManifestPath"] = Models.ManifestPath,
            ["Images:MaxBytes"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in await HostSettingsAsync())
        {
            settings[key] = value;
        }

        app = LocalHostApp.Build([], settings, ConfigureServices);
        await app.StartAsync();
        Http.BaseAddress = new Uri(app.Urls.Single());
    }

    public virtual async Task DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Http.Dispose();
        Models.Dispose();
        await Azurite.DisposeAsync();
    }

    public async Task<BlobClient> UploadAsync(string modality, string blobName, byte[] content)
    {
        var blob = Blobs.GetBlobContainerClient(ScanContainers.For(ModalityNames.Parse(modality))).GetBlobClient(blobName);
        await blob.UploadAsync(new BinaryData(content), overwrite: true);
        return blob;
    }

    /// <summary>Polls GET /api/scans/{modality}/{blob} until it answers 200 for the given blob version.</summary>
    public async Task<ScanResult> WaitForResultAsync(string modality, string blobName, string? blobVersion = null, int timeoutSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        var path = $"/api/scans/{modality}/{string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString))}";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Http.GetAsync(path);
            if (response.IsSuccessStatusCode)
            {
                var result = (await response.Content.ReadFromJsonAsync<ScanResult>(ScanResult.JsonOptions))!;
                if (blobVersion is null || result.BlobVersion == blobVersion)
                {
                    return result;
                }
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"No result for {modality}/{blobName} within {timeoutSeconds} s.");
    }

    public async Task<JsonElement> GetJsonAsync(string path) =>
        await Http.GetFromJsonAsync<JsonElement>(path);

    /// <summary>
    /// Polls a listing (<c>/api/scans...</c>) until one of its items has <paramref name="value"/> in
    /// <paramref name="property"/> (at most 30 s), then returns its items.
    /// </summary>
    public async Task<List<JsonElement>> ListedAsync(string path, string property, string value)
    {
        List<JsonElement> items = [];
        await Eventually.UntilAsync(
            async () =>
            {
                items = (await GetJsonAsync(path)).GetProperty("items").EnumerateArray().ToList();
                return items.Any(i => i.GetProperty(property).GetString() == value);
            },
            $"{property} {value} listed by {path}");
        return items;
    }
}

[CollectionDefinition(Name)]
public sealed class LocalPipelineCollection : ICollectionFixture<LocalPipeline>
{
    public const string Name = "local pipeline";
}
