using System.Net;
using System.Net.Http.Json;
using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Series;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Functional.Tests;

/// <summary>The local pipeline on test ensembles whose members have heatmap outputs, storing per-model overlays too, at most 64 px a side.</summary>
public sealed class HeatmapPipeline : LocalPipeline
{
    public const int MaxSide = 64;

    public HeatmapPipeline()
        : base(ModelFolder.WithStandardEnsemblesAndHeatmaps())
    {
    }

    public BlobContainerClient Heatmaps => Blobs.GetBlobContainerClient("heatmaps");

    protected override Task<IDictionary<string, string?>> HostSettingsAsync() => Task.FromResult<IDictionary<string, string?>>(new Dictionary<string, string?>
    {
        ["Heatmaps:PerModel"] = "true",
        ["Heatmaps:MaxSide"] = MaxSide.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });
}

public sealed class HeatmapPipelineTests(HeatmapPipeline pipeline) : IClassFixture<HeatmapPipeline>
{
    [Fact]
    public async Task A_scored_scan_gets_a_png_overlay_scaled_to_MaxSide_named_by_its_scan_id_and_its_result_links_it()
    {
        var name = $"ward 3/Jane Doe {Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", name, TestImages.Uniform(200, width: 300, height: 200));

        var result = await pipeline.WaitForResultAsync("chest", name);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal($"/api/results/{result.ScanId}/heatmap", result.HeatmapUrl);
        var stored = await BlobNamesAsync(result.ScanId);
        Assert.Equal(["ensemble.png", .. ModelFolder.ArchitectureNames.Select(n => $"{n}.png").Order()], stored.Order());
        Assert.All(result.Models, m => Assert.Equal($"/api/results/{result.ScanId}/heatmap?model={m.Name}", m.HeatmapUrl));
        using var overlay = await DecodePngAsync(pipeline.Heatmaps.GetBlobClient($"{result.ScanId}/ensemble.png"));
        Assert.Equal((HeatmapPipeline.MaxSide, 43), (overlay.Width, overlay.Height)); // 300 x 200 scaled to fit 64
        Assert.DoesNotContain(await AllBlobNamesAsync(), blob => blob.Contains("Jane", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("chest")] // every chest member's weight is positive: a bright scan pushes toward COVID everywhere
    [InlineData("ct")] // every CT member's weight is negative: away from COVID
    public async Task The_overlay_shows_the_sign_of_the_maps_the_scoring_run_returned(string modality)
    {
        var name = $"sign/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync(modality, name, TestImages.Uniform(200, width: 40, height: 40));
        var result = await pipeline.WaitForResultAsync(modality, name);

        using var overlay = await DecodePngAsync(pipeline.Heatmaps.GetBlobClient($"{result.ScanId}/ensemble.png"));

        Assert.Equal((40, 40), (overlay.Width, overlay.Height)); // a small scan is never scaled up
        var centre = overlay.GetPixel(20, 20);
        if (modality == "chest")
        {
            Assert.True(centre.Red > centre.Blue + 60, $"toward COVID is red: {centre}");
        }
        else
        {
            Assert.True(centre.Blue > centre.Red + 60, $"away from COVID is blue: {centre}");
        }
    }

    [Fact]
    public async Task The_results_api_serves_the_ensembles_and_each_models_overlay_as_png()
    {
        var result = await ScoredAsync();

        using var ensemble = await pipeline.Http.GetAsync(result.HeatmapUrl);
        using var member = await pipeline.Http.GetAsync(result.Models[1].HeatmapUrl);

        Assert.Equal(HttpStatusCode.OK, ensemble.StatusCode);
        Assert.Equal("image/png", ensemble.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", ensemble.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(
            (await pipeline.Heatmaps.GetBlobClient($"{result.ScanId}/ensemble.png").DownloadContentAsync()).Value.Content.ToArray(),
            await ensemble.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, member.StatusCode);
        Assert.Equal(
            (await pipeline.Heatmaps.GetBlobClient($"{result.ScanId}/{result.Models[1].Name}.png").DownloadContentAsync()).Value.Content.ToArray(),
            await member.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_heatmap_route_answers_404_with_a_reason_for_an_unknown_model_a_rejected_scan_and_a_scan_with_no_result()
    {
        var scored = await ScoredAsync();
        var rejectedName = $"rejected/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", rejectedName, "not an image"u8.ToArray());
        var rejected = await pipeline.WaitForResultAsync("chest", rejectedName);

        Assert.Null(rejected.HeatmapUrl);
        Assert.Empty(await BlobNamesAsync(rejected.ScanId));
        await AssertNotFoundAsync($"/api/results/{rejected.ScanId}/heatmap", "was rejected: it has no heatmap");
        await AssertNotFoundAsync($"/api/results/{scored.ScanId}/heatmap?model=..%2F..%2Fchest", "no heatmap for that model");
        await AssertNotFoundAsync($"/api/results/{new string('0', 32)}/heatmap", "No result for scan");
        using var malformed = await pipeline.Http.GetAsync("/api/results/not-a-scan-id/heatmap");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    private async Task<ScanResult> ScoredAsync()
    {
        var name = $"api/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", name, TestImages.LeftWhiteRightBlack(48, 32));
        var result = await pipeline.WaitForResultAsync("chest", name);
        Assert.Equal(ScanStatus.Scored, result.Status);
        return result;
    }

    private async Task AssertNotFoundAsync(string path, string reason)
    {
        using var response = await pipeline.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<Core.Api.ApiError>())!.Error;
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    private async Task<List<string>> BlobNamesAsync(string scanId)
    {
        var names = new List<string>();
        if (await pipeline.Heatmaps.ExistsAsync())
        {
            await foreach (var blob in pipeline.Heatmaps.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = scanId + "/" }))
            {
                names.Add(blob.Name[(scanId.Length + 1)..]);
            }
        }

        return names;
    }

    private async Task<List<string>> AllBlobNamesAsync()
    {
        var names = new List<string>();
        await foreach (var blob in pipeline.Heatmaps.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

    internal static async Task<SKBitmap> DecodePngAsync(BlobClient blob)
    {
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        return SKBitmap.Decode(bytes);
    }
}

/// <summary>The scan processor's heatmap step on its own, against Azurite.</summary>
public sealed class HeatmapProcessorTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly StorageHarness storage = new(azurite);
    private readonly ModelFolder models = ModelFolder.WithStandardEnsemblesAndHeatmaps();
    private ModelCatalog? catalog;

    public void Dispose()
    {
        catalog?.Dispose();
        models.Dispose();
    }

    [Fact]
    public async Task A_version_delivered_again_is_announced_from_storage_without_drawing_or_writing_its_heatmap_again()
    {
        var (processor, container) = Processor(new HeatmapOptions { Container = $"heat-{Guid.NewGuid():N}"[..20] });
        var identity = new ScanIdentity(Modality.Chest, $"again/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var upload = new ScanUpload(identity, TestImages.Uniform(120));
        var first = await processor.ProcessAsync(upload, default);
        var written = (await container.GetBlobClient($"{identity.ScanId}/ensemble.png").GetPropertiesAsync()).Value;

        var second = await processor.ProcessAsync(upload, default);

        Assert.Equal(first.ToJson(), second.ToJson());
        var after = (await container.GetBlobClient($"{identity.ScanId}/ensemble.png").GetPropertiesAsync()).Value;
        Assert.Equal(written.ETag, after.ETag); // any second upload, even of the same bytes, gives a new ETag
        Assert.Single(await NamesAsync(container));
    }

    [Fact]
    public async Task With_heatmaps_off_a_scored_scan_gets_no_overlay_and_no_link()
    {
        var (processor, container) = Processor(new HeatmapOptions { Enabled = false, Container = $"heat-{Guid.NewGuid():N}"[..20] });
        var identity = new ScanIdentity(Modality.Chest, $"off/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await processor.ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), default);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Null(result.HeatmapUrl);
        Assert.All(result.Models, m => Assert.Null(m.HeatmapUrl));
        Assert.False(await container.ExistsAsync());
    }

    private (ScanProcessor Processor, BlobContainerClient Container) Processor(HeatmapOptions heatmaps)
    {
        var options = Options.Create(new StorageOptions { ResultsQueue = $"heat-{Guid.NewGuid():N}" });
        catalog ??= new ModelCatalog(Options.Create(new ModelOptions { ManifestPath = models.ManifestPath }), NullLogger<ModelCatalog>.Instance);
        var scorer = new InProcessScanScorer(new EnsembleRunner(catalog, new ScanDecoder(), Options.Create(new ModelOptions()), Options.Create(heatmaps)));
        var store = new ResultStore(storage.Clients, options);
        var processor = new ScanProcessor(
            scorer, new ScanDecoder(), store, new SeriesStore(store), new ResultNotifier(storage.Clients, options), TimeProvider.System,
            NullLogger<ScanProcessor>.Instance, new HeatmapStore(storage.Clients, new ScanDecoder(), Options.Create(heatmaps)));
        return (processor, storage.Clients.Blobs.GetBlobContainerClient(heatmaps.Container));
    }

    private static async Task<List<string>> NamesAsync(BlobContainerClient container)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }
}
