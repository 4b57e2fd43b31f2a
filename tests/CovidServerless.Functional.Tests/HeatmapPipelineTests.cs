using System.Net;
using System.Net.Http.Json;
using Azure.Data.Tables;
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
    public async Task A_scored_scan_keeps_its_members_maps_in_its_result_row_and_links_its_overlays_but_no_png_is_drawn()
    {
        var name = $"ward 3/Jane Doe {Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", name, TestImages.Uniform(200, width: 300, height: 200));

        var result = await pipeline.WaitForResultAsync("chest", name);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal($"/api/results/{result.ScanId}/heatmap", result.HeatmapUrl);
        Assert.All(result.Models, m => Assert.Equal($"/api/results/{result.ScanId}/heatmap?model={m.Name}", m.HeatmapUrl));
        Assert.Empty(await BlobNamesAsync(result.ScanId));
        Assert.True(HeatmapMaps.TryDecode(await StoredMapsAsync("chest", name), out var maps));
        Assert.Equal(ModelFolder.ArchitectureNames, maps.Select(m => m.Model));
        Assert.All(maps, m => Assert.Equal((TinyOnnxModels.MapGrid, TinyOnnxModels.MapGrid), (m.Map.Width, m.Map.Height)));
    }

    [Fact]
    public async Task The_first_GET_draws_the_overlay_at_MaxSide_and_stores_it_under_the_scan_id_and_the_next_GET_is_served_from_the_container()
    {
        var name = $"ward 3/Jane Doe {Guid.NewGuid():N}.png";
        var scan = await pipeline.UploadAsync("chest", name, TestImages.Uniform(200, width: 300, height: 200));
        var result = await pipeline.WaitForResultAsync("chest", name);

        var first = await GetPngAsync(result.HeatmapUrl!);

        Assert.Equal(["ensemble.png"], await BlobNamesAsync(result.ScanId));
        var stored = pipeline.Heatmaps.GetBlobClient($"{result.ScanId}/ensemble.png");
        var written = (await stored.GetPropertiesAsync()).Value;
        Assert.Equal(first, (await stored.DownloadContentAsync()).Value.Content.ToArray());
        using (var overlay = SKBitmap.Decode(first))
        {
            Assert.Equal((HeatmapPipeline.MaxSide, 43), (overlay.Width, overlay.Height)); // 300 x 200 scaled to fit 64
        }

        Assert.DoesNotContain(await AllBlobNamesAsync(), blob => blob.Contains("Jane", StringComparison.Ordinal));

        // Without the scan nothing could be drawn again: the second answer can only come from the container.
        await scan.DeleteAsync();
        var second = await GetPngAsync(result.HeatmapUrl!);

        Assert.Equal(first, second);
        Assert.Equal(written.ETag, (await stored.GetPropertiesAsync()).Value.ETag); // not uploaded again
    }

    [Theory]
    [InlineData("chest")] // every chest member's weight is positive: a bright scan pushes toward COVID everywhere
    [InlineData("ct")] // every CT member's weight is negative: away from COVID
    public async Task The_overlay_shows_the_sign_of_the_maps_the_scoring_run_returned(string modality)
    {
        var name = $"sign/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync(modality, name, TestImages.Uniform(200, width: 40, height: 40));
        var result = await pipeline.WaitForResultAsync(modality, name);

        using var overlay = SKBitmap.Decode(await GetPngAsync(result.HeatmapUrl!));

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
    public async Task Each_models_link_draws_and_stores_that_models_own_overlay_apart_from_the_ensembles()
    {
        var result = await ScoredAsync();
        var model = result.Models[1];

        using var response = await pipeline.Http.GetAsync(model.HeatmapUrl);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal([$"{model.Name}.png"], await BlobNamesAsync(result.ScanId));
        Assert.Equal(
            (await pipeline.Heatmaps.GetBlobClient($"{result.ScanId}/{model.Name}.png").DownloadContentAsync()).Value.Content.ToArray(),
            await response.Content.ReadAsByteArrayAsync());

        await GetPngAsync(result.HeatmapUrl!);

        Assert.Equal(["ensemble.png", $"{model.Name}.png"], (await BlobNamesAsync(result.ScanId)).Order());
    }

    [Theory]
    [InlineData("replaced by a newer upload")]
    [InlineData("deleted")]
    public async Task A_scan_changed_since_it_was_scored_gets_410_and_no_map_is_drawn_over_another_image(string change)
    {
        var name = $"Jane Doe/{Guid.NewGuid():N}.png";
        var blob = await pipeline.UploadAsync("chest", name, TestImages.Uniform(200, width: 48, height: 32));
        var scored = await pipeline.WaitForResultAsync("chest", name);
        if (change == "deleted")
        {
            await blob.DeleteAsync();
        }
        else
        {
            await pipeline.UploadAsync("chest", name, TestImages.LeftWhiteRightBlack(48, 32));
        }

        using var response = await pipeline.Http.GetAsync(scored.HeatmapUrl);

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<Core.Api.ApiError>())!.Error;
        Assert.Contains("The scan changed since it was scored", error, StringComparison.Ordinal);
        Assert.Contains(change, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Jane", error, StringComparison.Ordinal);
        Assert.Empty(await BlobNamesAsync(scored.ScanId));
    }

    [Theory]
    [InlineData("damaged")]
    [InlineData("oversized")]
    [InlineData("not binary")]
    public async Task Unreadable_maps_in_the_result_row_are_refused_with_a_reason_and_nothing_is_drawn(string damage)
    {
        var name = $"damaged/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", name, TestImages.Uniform(200, width: 48, height: 32));
        var result = await pipeline.WaitForResultAsync("chest", name);
        var good = await StoredMapsAsync("chest", name);
        object value = damage switch
        {
            "damaged" => good[..^3],
            "oversized" => (byte[])[.. good, .. new byte[HeatmapMaps.MaxBytes]],
            _ => "not the maps",
        };
        var ensemble = (await pipeline.Storage.RowsForBlobAsync(Modality.Chest, name)).Single(r => r.GetString("Member") == "ensemble");
        await pipeline.Storage.Clients.Tables.GetTableClient("ScanResults").UpdateEntityAsync(
            new TableEntity(ensemble.PartitionKey, ensemble.RowKey) { [HeatmapMapsProperty] = value }, Azure.ETag.All, TableUpdateMode.Merge);

        using var response = await pipeline.Http.GetAsync(result.HeatmapUrl);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("are unreadable", (await response.Content.ReadFromJsonAsync<Core.Api.ApiError>())!.Error, StringComparison.Ordinal);
        Assert.Empty(await BlobNamesAsync(result.ScanId));
    }

    [Fact]
    public async Task The_heatmap_route_answers_404_with_a_reason_for_an_unknown_model_a_rejected_scan_and_a_scan_with_no_result()
    {
        var scored = await ScoredAsync();
        var rejectedName = $"rejected/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", rejectedName, "not an image"u8.ToArray());
        var rejected = await pipeline.WaitForResultAsync("chest", rejectedName);

        Assert.Null(rejected.HeatmapUrl);
        Assert.Null((await pipeline.Storage.RowsForBlobAsync(Modality.Chest, rejectedName)).Single().GetBinary(HeatmapMapsProperty));
        await AssertNotFoundAsync($"/api/results/{rejected.ScanId}/heatmap", "was rejected: it has no heatmap");
        await AssertNotFoundAsync($"/api/results/{scored.ScanId}/heatmap?model=..%2F..%2Fchest", "no heatmap for that model");
        await AssertNotFoundAsync($"/api/results/{new string('0', 32)}/heatmap", "No result for scan");
        using var malformed = await pipeline.Http.GetAsync("/api/results/not-a-scan-id/heatmap");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Empty(await BlobNamesAsync(rejected.ScanId));
        Assert.Empty(await BlobNamesAsync(scored.ScanId));
    }

    /// <summary>The ensemble row's stored maps (see HeatmapMaps).</summary>
    private const string HeatmapMapsProperty = "HeatmapMaps";

    private async Task<byte[]> StoredMapsAsync(string modality, string name) =>
        (await pipeline.Storage.RowsForBlobAsync(ModalityNames.Parse(modality), name))
            .Single(r => r.GetString("Member") == "ensemble").GetBinary(HeatmapMapsProperty)!;

    private async Task<byte[]> GetPngAsync(string url)
    {
        using var response = await pipeline.Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        return bytes;
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
}

/// <summary>The scan processor's heatmap step and the maps' row on their own, against Azurite.</summary>
public sealed class HeatmapProcessorTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly StorageHarness storage = new(azurite);
    private InProcessPipeline? pipeline;

    public void Dispose() => pipeline?.Dispose();

    [Fact]
    public async Task The_maps_in_the_result_row_are_bit_for_bit_those_the_scoring_run_returned_and_no_png_is_written()
    {
        var (processor, container, scorer) = Processor(new HeatmapOptions { Container = $"heat-{Guid.NewGuid():N}"[..20] });
        var identity = new ScanIdentity(Modality.Chest, $"maps/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await processor.ProcessAsync(new ScanUpload(identity, TestImages.LeftWhiteRightBlack(64, 48)), default);

        Assert.NotNull(result.HeatmapUrl);
        var returned = scorer.Scores.Single().Heatmaps!;
        Assert.True(HeatmapMaps.TryDecode(await StoredMapsAsync(identity) ?? [], out var stored));
        Assert.Equal(returned.Select(m => m.Model), stored.Select(m => m.Model));
        Assert.Equal(Bits(returned), Bits(stored));
        Assert.False(await container.ExistsAsync());
    }

    [Fact]
    public async Task Maps_saved_with_a_result_read_back_exactly_through_the_results_query()
    {
        MemberHeatmap[] maps =
        [
            new("vgg16", 0.125f, new CamMap(3, 2, [float.MaxValue, float.MinValue, float.Epsilon, -0f, 1e-38f, -123.456f])),
            new("resnet50", 0.875f, new CamMap(4, 4, [.. Enumerable.Range(0, 16).Select(i => (float)Math.Cos(i * 0.7) / 3)])),
        ];
        var options = Options.Create(new StorageOptions());
        var store = new ResultStore(storage.Clients, options);
        var identity = new ScanIdentity(Modality.Ct, $"roundtrip/{Guid.NewGuid():N}.png", "\"0x2\"", DateTimeOffset.UtcNow);
        var result = new ScanResult
        {
            ScanId = identity.ScanId,
            Modality = "ct",
            BlobName = identity.BlobName,
            BlobVersion = identity.BlobVersion,
            Status = ScanStatus.Scored,
            UploadedAt = identity.UploadedAt,
            ProcessedAt = DateTimeOffset.UtcNow,
        };

        await store.SaveAsync(result, identity, default, HeatmapMaps.Encode(maps));
        var indexed = (await new ResultsQuery(store).GetByScanIdAsync(identity.ScanId, default))!;
        var bytes = await new ResultsQuery(store).GetHeatmapMapsAsync(indexed, default);

        Assert.True(HeatmapMaps.TryDecode(bytes ?? [], out var read));
        Assert.Equal(maps.Select(m => (m.Model, m.PCovid, m.Map.Width, m.Map.Height)), read.Select(m => (m.Model, m.PCovid, m.Map.Width, m.Map.Height)));
        Assert.Equal(Bits(maps), Bits(read));
    }

    [Fact]
    public async Task A_version_delivered_again_is_announced_from_storage_without_writing_its_row_or_maps_again()
    {
        var (processor, container, _) = Processor(new HeatmapOptions { Container = $"heat-{Guid.NewGuid():N}"[..20] });
        var identity = new ScanIdentity(Modality.Chest, $"again/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var upload = new ScanUpload(identity, TestImages.Uniform(120));
        var first = await processor.ProcessAsync(upload, default);
        var written = await EnsembleRowAsync(identity);

        var second = await processor.ProcessAsync(upload, default);

        Assert.Equal(first.ToJson(), second.ToJson());
        Assert.Equal(written.ETag, (await EnsembleRowAsync(identity)).ETag);
        Assert.False(await container.ExistsAsync());
    }

    [Fact]
    public async Task With_heatmaps_off_a_scored_scan_gets_no_maps_and_no_link()
    {
        var (processor, container, _) = Processor(new HeatmapOptions { Enabled = false, Container = $"heat-{Guid.NewGuid():N}"[..20] });
        var identity = new ScanIdentity(Modality.Chest, $"off/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await processor.ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), default);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Null(result.HeatmapUrl);
        Assert.All(result.Models, m => Assert.Null(m.HeatmapUrl));
        Assert.Null(await StoredMapsAsync(identity));
        Assert.False(await container.ExistsAsync());
    }

    private static IEnumerable<int> Bits(IEnumerable<MemberHeatmap> maps) =>
        maps.SelectMany(m => m.Map.Values.Prepend(m.PCovid)).Select(BitConverter.SingleToInt32Bits);

    private async Task<Azure.Data.Tables.TableEntity> EnsembleRowAsync(ScanIdentity identity) =>
        (await storage.RowsForBlobAsync(identity.Modality, identity.BlobName)).Single(r => r.GetString("Member") == "ensemble");

    private async Task<byte[]?> StoredMapsAsync(ScanIdentity identity) => (await EnsembleRowAsync(identity)).GetBinary("HeatmapMaps");

    private (ScanProcessor Processor, BlobContainerClient Container, RecordingScorer Scorer) Processor(HeatmapOptions heatmaps)
    {
        pipeline ??= new InProcessPipeline(storage.Clients, ModelFolder.WithStandardEnsemblesAndHeatmaps());
        var scorer = new RecordingScorer(pipeline.Scorer(heatmaps));
        var wired = pipeline.Wire($"heat-{Guid.NewGuid():N}", scorer, heatmaps: heatmaps);
        return (wired.Processor, storage.Clients.Blobs.GetBlobContainerClient(heatmaps.Container), scorer);
    }

    /// <summary>The real scorer, keeping what it returned.</summary>
    private sealed class RecordingScorer(IScanScorer inner) : IScanScorer
    {
        public List<EnsembleScore> Scores { get; } = [];

        public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
        {
            var score = await inner.ScoreAsync(modality, image, cancellationToken);
            Scores.Add(score);
            return score;
        }
    }
}
