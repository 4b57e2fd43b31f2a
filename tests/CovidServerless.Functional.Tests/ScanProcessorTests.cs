using System.Globalization;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Series;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

public sealed class ScanProcessorTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly StorageHarness storage = new(azurite);
    private InProcessPipeline? pipeline;

    private InProcessPipeline Pipeline => pipeline ??= new InProcessPipeline(storage.Clients, ModelFolder.WithStandardEnsembles());

    public void Dispose() => pipeline?.Dispose();

    [Fact]
    public async Task A_scan_scored_as_the_host_stops_is_still_recorded_and_announced()
    {
        var queue = $"stopping-{Guid.NewGuid():N}";
        using var stopping = new CancellationTokenSource();
        var scorer = new StopWhenScored(Pipeline.Scorer(), stopping);
        var (processor, store, _, _) = Pipeline.Wire(queue, scorer);
        var identity = new ScanIdentity(Modality.Chest, $"stopping/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await processor.ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), stopping.Token);

        Assert.True(stopping.IsCancellationRequested);
        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(5, (await storage.RowsForBlobAsync(Modality.Chest, identity.BlobName)).Count);
        var message = Assert.Single((await storage.Clients.Queues.GetQueueClient(queue).PeekMessagesAsync(32)).Value);
        Assert.Contains(identity.ScanId, message.Body.ToString(), StringComparison.Ordinal);
        var recorded = await store.RecordedSinceAsync(Modality.Chest, identity.UploadedAt, default);
        Assert.True(recorded.Contains(identity), "the timeline row, written last, marks it complete");
    }

    [Fact]
    public async Task A_scored_scan_is_logged_with_its_verdict_and_probability_but_not_its_blob_name()
    {
        var logger = new FakeLogger<ScanProcessor>();
        var identity = new ScanIdentity(Modality.Chest, $"ward 3/Jane Doe {Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await ProcessorLoggingTo(logger).ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), default);

        Assert.Equal(ScanStatus.Scored, result.Status);
        var logged = Assert.Single(logger.Collector.GetSnapshot(), record => record.Level == LogLevel.Information);
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"Scan {identity.ScanId} (chest) scored {result.Verdict}, pCovid {result.PCovid:F3}"), logged.Message);
        AssertNoPatientNameAtInformation(logger);
    }

    [Fact]
    public async Task A_rejected_scan_is_logged_with_its_reason_but_not_its_blob_name()
    {
        var logger = new FakeLogger<ScanProcessor>();
        var identity = new ScanIdentity(Modality.Ct, $"ward 3/Jane Doe {Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);

        var result = await ProcessorLoggingTo(logger).ProcessAsync(new ScanUpload(identity, "Jane Doe: not an image"u8.ToArray()), default);

        Assert.Equal(ScanStatus.Rejected, result.Status);
        var logged = Assert.Single(logger.Collector.GetSnapshot(), record => record.Level == LogLevel.Information);
        Assert.Equal($"Scan {identity.ScanId} (ct) rejected: The file is not a readable image: expected PNG, JPEG, BMP, GIF or WebP.", logged.Message);
        AssertNoPatientNameAtInformation(logger);
    }

    [Fact]
    public async Task A_version_delivered_again_after_its_result_was_saved_is_announced_from_storage_not_scored_again()
    {
        var (processor, scorer, queue) = CountingProcessor();
        var identity = new ScanIdentity(Modality.Chest, $"again/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var upload = new ScanUpload(identity, TestImages.Uniform(120));

        var first = await processor.ProcessAsync(upload, default);
        var second = await processor.ProcessAsync(upload, default);

        Assert.Equal(1, scorer.Calls);
        Assert.Equal(first.ToJson(), second.ToJson());
        var messages = (await storage.Clients.Queues.GetQueueClient(queue).PeekMessagesAsync(32)).Value;
        Assert.Equal(2, messages.Length);
        Assert.Equal(messages[0].Body.ToString(), messages[1].Body.ToString());
    }

    [Fact]
    public async Task A_version_delivered_again_gets_back_its_scan_id_row_if_its_host_died_before_writing_it()
    {
        var (processor, _, _) = CountingProcessor();
        var identity = new ScanIdentity(Modality.Chest, $"no-index/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var upload = new ScanUpload(identity, TestImages.Uniform(120));
        var store = new ResultStore(storage.Clients, Options.Create(new StorageOptions()));
        var first = await processor.ProcessAsync(upload, default);
        // What a host that died between the result's rows and its scan-id row left: the rows alone.
        await storage.Clients.Tables.GetTableClient(new StorageOptions().ResultsTable).DeleteEntityAsync($"scan-{first.ScanId}", "result");
        Assert.Null(await new ResultsQuery(store).GetByScanIdAsync(first.ScanId, default));

        await processor.ProcessAsync(upload, default);

        Assert.Equal(first.ToJson(), (await new ResultsQuery(store).GetByScanIdAsync(first.ScanId, default))!.ToJson());
    }

    [Fact]
    public async Task A_rejected_version_delivered_again_keeps_its_rejection_without_being_read_again()
    {
        var (processor, scorer, _) = CountingProcessor();
        var identity = new ScanIdentity(Modality.Ct, $"again/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var upload = new ScanUpload(identity, "not an image"u8.ToArray());

        var first = await processor.ProcessAsync(upload, default);
        var second = await processor.ProcessAsync(upload, default);

        Assert.Equal(ScanStatus.Rejected, second.Status);
        Assert.Equal(first.Reason, second.Reason);
        Assert.Equal(1, scorer.Calls);
    }

    [Fact]
    public async Task A_failure_reported_after_a_version_was_scored_never_replaces_its_result()
    {
        var (processor, _, _) = CountingProcessor();
        var identity = new ScanIdentity(Modality.Chest, $"late-poison/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var scored = await processor.ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), default);

        var afterPoison = await processor.RecordFailedAsync(identity, default);

        Assert.Equal(ScanStatus.Scored, afterPoison.Status);
        var stored = await new ResultsQuery(new ResultStore(storage.Clients, Options.Create(new StorageOptions()))).GetLatestAsync(Modality.Chest, identity.BlobName, default);
        Assert.Equal(scored.ToJson(), stored!.ToJson());
    }

    [Fact]
    public async Task A_version_recorded_as_failed_again_keeps_its_first_failure_so_both_announcements_say_the_same()
    {
        var (processor, _, queue) = CountingProcessor();
        var identity = new ScanIdentity(Modality.Chest, $"failed-twice/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        var first = await processor.RecordFailedAsync(identity, default, ScanWatcher.DidNotFinish(3));

        // The host died after announcing it but before its timeline row: the next start counts one attempt more.
        var again = await processor.RecordFailedAsync(identity, default, ScanWatcher.DidNotFinish(4));

        Assert.Equal(first.ToJson(), again.ToJson());
        var messages = (await storage.Clients.Queues.GetQueueClient(queue).ReceiveMessagesAsync(32)).Value;
        Assert.Equal(2, messages.Length);
        Assert.All(messages, m => Assert.Equal(ScanWatcher.DidNotFinish(3), ScanResult.FromJson(m.Body.ToString()).Reason));
    }

    [Fact]
    public async Task A_version_recorded_as_failed_is_scored_when_delivered_again()
    {
        var (processor, scorer, _) = CountingProcessor();
        var identity = new ScanIdentity(Modality.Chest, $"replayed/{Guid.NewGuid():N}.png", "\"0x1\"", DateTimeOffset.UtcNow);
        await processor.RecordFailedAsync(identity, default);

        var replayed = await processor.ProcessAsync(new ScanUpload(identity, TestImages.Uniform(120)), default);

        Assert.Equal(ScanStatus.Scored, replayed.Status);
        Assert.Equal(1, scorer.Calls);
    }

    private (ScanProcessor Processor, CountingScorer Scorer, string Queue) CountingProcessor()
    {
        var queue = $"again-{Guid.NewGuid():N}";
        var scorer = new CountingScorer(Pipeline.Scorer());
        return (Pipeline.Wire(queue, scorer).Processor, scorer, queue);
    }

    private sealed class CountingScorer(IScanScorer inner) : IScanScorer
    {
        private int calls;

        public int Calls => Volatile.Read(ref calls);

        public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            return inner.ScoreAsync(modality, image, cancellationToken);
        }
    }

    private ScanProcessor ProcessorLoggingTo(ILogger<ScanProcessor> logger) => Pipeline.Wire($"logging-{Guid.NewGuid():N}", logger: logger).Processor;

    private static void AssertNoPatientNameAtInformation(FakeLogger<ScanProcessor> logger)
    {
        // At no level: the Debug line that mapped scan ids to blob names is gone (the results table maps them).
        Assert.NotEmpty(logger.Collector.GetSnapshot());
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), record => record.Message.Contains("Jane Doe", StringComparison.Ordinal));
    }

    /// <summary>Scores, then asks the host to stop: the stop arrives once the scan has its result.</summary>
    private sealed class StopWhenScored(IScanScorer inner, CancellationTokenSource stop) : IScanScorer
    {
        public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
        {
            var score = await inner.ScoreAsync(modality, image, cancellationToken);
            await stop.CancelAsync();
            return score;
        }
    }
}
