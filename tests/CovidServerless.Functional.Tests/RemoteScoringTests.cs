using System.Net;
using System.Net.Http.Headers;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;

namespace CovidServerless.Functional.Tests;

[Collection(RemotePipelineCollection.Name)]
public sealed class RemoteScoringTests(RemotePipeline pipeline)
{
    private static ByteArrayContent Body(byte[] image)
    {
        var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    [SkippableFact]
    public async Task The_pipeline_through_the_worker_gives_the_same_results_as_in_process_scoring()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var inProcess = pipeline.Services.GetRequiredService<InProcessScanScorer>();
        Assert.IsType<RemoteScanScorer>(pipeline.Services.GetRequiredService<IScanScorer>());
        foreach (var modality in new[] { "chest", "ct" })
        {
            var file = Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, modality, "val", "covid")).Order(StringComparer.Ordinal).First();
            var bytes = await File.ReadAllBytesAsync(file);

            await pipeline.UploadAsync(modality, "remote/" + Path.GetFileName(file), bytes);
            var result = await pipeline.WaitForResultAsync(modality, "remote/" + Path.GetFileName(file));

            var expected = await inProcess.ScoreAsync(ModalityNames.Parse(modality), bytes, default);
            Assert.Equal(ScanStatus.Scored, result.Status);
            Assert.Equal(expected.Models.Select(m => m.PCovid), result.Models.Select(m => m.PCovid), new ToleranceComparer(1e-6));
            Assert.Equal(expected.PCovid, result.PCovid!.Value, tolerance: 1e-6);
        }
    }

    [Fact]
    public async Task The_worker_batches_concurrent_requests()
    {
        using var http = new HttpClient { BaseAddress = new Uri(pipeline.WorkerUrl) };
        var images = Enumerable.Range(0, 12).Select(i => TestImages.Uniform((byte)(20 * i), 96, 96)).ToList();
        var largestBatch = 0;
        pipeline.Worker!.Services.GetRequiredService<BatchingScanScorer>().BatchScored += (_, size) => InterlockedMax(ref largestBatch, size);

        // Whether requests meet within the batch window depends on when they arrive, and other tests share these two
        // cores and this process's thread pool. The first burst also opens the connections; up to three bursts may
        // follow, and at least one of them has to share a batch.
        var bursts = new List<HttpResponseMessage[]>();
        for (var burst = 0; burst < 4 && (burst < 2 || Volatile.Read(ref largestBatch) < 2); burst++)
        {
            bursts.Add(await Task.WhenAll(images.Select(image => http.PostAsync("/score/chest", Body(image)))));
        }

        Assert.All(bursts.SelectMany(b => b), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.True(largestBatch > 1, $"no requests shared a batch in {bursts.Count} bursts of {images.Count}");
        var lines = (await http.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains(lines, line => line.StartsWith("covidscan_batch_size_bucket{", StringComparison.Ordinal)
            && line.Contains("modality=\"chest\"", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("covidscan_worker_requests_total{", StringComparison.Ordinal)
            && line.Contains("outcome=\"scored\"", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("covidscan_models_on_cuda", StringComparison.Ordinal) && line.Split(' ')[1] == "0"); // no GPU here
    }

    [Fact]
    public async Task The_worker_rejects_bad_scans_with_422_and_its_reason_and_reports_ready()
    {
        using var http = new HttpClient { BaseAddress = new Uri(pipeline.WorkerUrl) };

        var bad = await http.PostAsync("/score/ct", Body(TestImages.Truncated(TestImages.Noise(200, 200, SKEncodedImageFormat.Png))));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        Assert.Contains("truncated", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task The_worker_reads_scans_up_to_the_image_byte_limit_beyond_the_servers_default_request_limit()
    {
        using var http = new HttpClient { BaseAddress = new Uri(pipeline.WorkerUrl) };
        var limit = new ImageLimitsOptions().MaxBytes;

        // Over ASP.NET Core's default 30,000,000-byte request limit, under the scan limit: the decoder must see it.
        var justUnder = await http.PostAsync("/score/chest", Body(new byte[limit - 1024]));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, justUnder.StatusCode);
        Assert.Contains("not a readable image", await justUnder.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killing_the_worker_mid_batch_loses_no_scan()
    {
        var names = Enumerable.Range(0, 6).Select(i => $"kill/scan-{i}.png").ToList();
        var uploads = names.Select((name, i) => pipeline.UploadAsync("ct", name, TestImages.Uniform((byte)(30 + (30 * i)), 128, 128))).ToList();

        await pipeline.StopWorkerAsync();
        try
        {
            await Task.WhenAll(uploads);
            foreach (var name in names)
            {
                var result = await pipeline.WaitForResultAsync("ct", name, timeoutSeconds: 90);
                Assert.Equal(ScanStatus.Scored, result.Status);
                Assert.Equal(4, result.Models.Count);
            }
        }
        finally
        {
            await pipeline.StartWorkerAsync();
        }
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
