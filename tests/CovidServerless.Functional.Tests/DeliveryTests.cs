using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

[Collection(LocalPipelineCollection.Name)]
public sealed class DeliveryTests(LocalPipeline pipeline)
{
    [Fact]
    public async Task A_blob_version_delivered_twice_leaves_the_same_rows_and_messages_with_the_same_scan_id()
    {
        var blob = await pipeline.UploadAsync("ct", "redelivery/scan.png", TestImages.Uniform(90));
        var first = await pipeline.WaitForResultAsync("ct", "redelivery/scan.png");

        // Blob triggers deliver at least once: a second delivery of the same version must change nothing.
        var again = await pipeline.Services.GetRequiredService<BlobScanIngestor>().IngestAsync(Modality.Ct, blob, default);

        Assert.Equal(first.ScanId, again!.ScanId);
        Assert.Equal(5, (await pipeline.Storage.RowsForBlobAsync(Modality.Ct, "redelivery/scan.png")).Count);
        var messages = (await pipeline.Storage.ResultMessagesAsync()).Where(m => m.BlobName == "redelivery/scan.png" && m.Modality == "ct").ToList();
        Assert.Equal(2, messages.Count);
        Assert.All(messages, m => Assert.Equal(first.ScanId, m.ScanId));
    }

    [Fact]
    public async Task A_download_cut_short_fails_the_attempt_for_a_retry_instead_of_rejecting_the_scan_as_truncated()
    {
        var blob = await pipeline.UploadAsync("chest", "delivery/cut-short.png", TestImages.Noise(300, 300, SkiaSharp.SKEncodedImageFormat.Png));
        var ingestor = pipeline.Services.GetRequiredService<BlobScanIngestor>();

        // The blob is whole; only this read of it ends early, as when a connection drops mid-body.
        await Assert.ThrowsAsync<IOException>(() => ingestor.IngestAsync(Modality.Chest, new CutShortBlob(blob), default));
        var afterRetry = await ingestor.IngestAsync(Modality.Chest, blob, default);

        Assert.Equal(ScanStatus.Scored, afterRetry!.Status);
        Assert.Single(await pipeline.Services.GetRequiredService<ResultsQuery>().GetVersionsAsync(Modality.Chest, "delivery/cut-short.png", 10, default));
    }

    [Fact]
    public async Task A_blob_that_failed_every_retry_of_the_functions_blob_trigger_ends_as_a_failed_result_from_its_poison_message()
    {
        // What the blob trigger writes to webjobs-blobtrigger-poison after its last retry (the Functions app hands it over).
        var poison = JsonSerializer.Serialize(new
        {
            Type = "BlobTrigger",
            FunctionId = "Host.Functions.ScoreChestScan",
            BlobType = "BlockBlob",
            ContainerName = ScanContainers.Chest,
            BlobName = "poison/never-scored.png",
            ETag = "\"0x8DEADBEEF\"",
        });

        await pipeline.Services.GetRequiredService<PoisonScanHandler>().HandleAsync(poison, default);
        var result = await pipeline.WaitForResultAsync("chest", "poison/never-scored.png");

        Assert.Equal(ScanStatus.Failed, result.Status);
        Assert.Contains("every retry", result.Reason, StringComparison.Ordinal);
        Assert.Equal("0x8DEADBEEF", result.BlobVersion);
        Assert.Contains(await pipeline.Storage.ResultMessagesAsync(), m => m.ScanId == result.ScanId && m.Status == ScanStatus.Failed);
    }

    [Fact]
    public async Task A_failure_of_an_older_version_never_hides_the_newer_versions_result()
    {
        await pipeline.UploadAsync("chest", "poison/reuploaded.png", TestImages.Uniform(120));
        var current = await pipeline.WaitForResultAsync("chest", "poison/reuploaded.png");
        var handler = pipeline.Services.GetRequiredService<PoisonScanHandler>();

        var failed = await handler.HandleAsync(
            """{"ContainerName":"chest","BlobName":"poison/reuploaded.png","ETag":"\"0xOLDVERSION\""}""", default);
        var latest = await pipeline.WaitForResultAsync("chest", "poison/reuploaded.png");
        var history = await pipeline.GetJsonAsync("/api/scans/chest/poison/reuploaded.png?history=true");

        Assert.Equal(ScanStatus.Failed, failed!.Status);
        Assert.Equal((current.ScanId, ScanStatus.Scored), (latest.ScanId, latest.Status));
        Assert.Equal(2, history.GetArrayLength());
    }

    /// <summary>The real blob, whose download returns only the first half of its bytes.</summary>
    private sealed class CutShortBlob(BlobClient real) : BlobClient(real.Uri)
    {
        public override async Task<Response<BlobDownloadStreamingResult>> DownloadStreamingAsync(
            BlobDownloadOptions? options = null, CancellationToken cancellationToken = default)
        {
            var whole = await real.DownloadStreamingAsync(options, cancellationToken);
            var half = new byte[whole.Value.Details.ContentLength / 2];
            await whole.Value.Content.ReadExactlyAsync(half, cancellationToken);
            whole.Value.Dispose();
            return Response.FromValue(BlobsModelFactory.BlobDownloadStreamingResult(new MemoryStream(half), whole.Value.Details), whole.GetRawResponse());
        }
    }
}
