using System.Text;
using CovidServerless.Core;
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

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The fuzz corpus (<see cref="MutatedScans"/>) through the whole pipeline with real storage: every damaged upload ends
/// with one recorded and announced answer, scored or rejected with a reason, and never throws (a throw is what makes a
/// trigger retry it and, after its retries, a poison message).
/// </summary>
public sealed class PipelineFuzzTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string[] Extensions = [".png", ".jpg", ".dcm", ".gif", ".txt", string.Empty];

    private readonly StorageHarness storage = new(azurite);

    [Fact]
    public async Task Every_mutated_upload_is_recorded_and_announced_once_as_scored_or_rejected_and_none_throws()
    {
        using var pipeline = new InProcessPipeline(storage.Clients, ModelFolder.WithStandardEnsembles());
        var resultsQueue = $"fuzz-{Guid.NewGuid():N}";
        var (processor, store, _, _) = pipeline.Wire(resultsQueue);
        var run = Guid.NewGuid().ToString("N");

        var answers = new Dictionary<string, (ScanIdentity Identity, ScanResult Result)>();
        foreach (var (input, i) in MutatedScans.Make(MutatedScans.Count(120), MutatedScans.Seed + 2).Select((input, i) => (input, i)))
        {
            // Names whose extension says nothing true about the content: the pipeline reads the bytes, not the name.
            var identity = new ScanIdentity(i % 3 == 0 ? Modality.Ct : Modality.Chest, $"fuzz-{run}/{i}{Extensions[i % Extensions.Length]}", "\"0x1\"", DateTimeOffset.UtcNow);
            ScanResult result;
            try
            {
                result = await processor.ProcessAsync(new ScanUpload(identity, input.Bytes), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (Exception ex)
            {
                Assert.Fail($"{input}: {ex.GetType().Name}: {ex.Message}");
                throw;
            }

            Assert.True(result.Status is ScanStatus.Scored or ScanStatus.Rejected, $"{input}: {result.Status}");
            Assert.True(result.Status == ScanStatus.Scored || !string.IsNullOrWhiteSpace(result.Reason), $"{input}: rejected without a reason");
            answers[identity.ScanId] = (identity, result);
        }

        foreach (var (identity, result) in answers.Values)
        {
            var stored = await store.FindAsync(identity, default);
            Assert.Equal((result.Status, result.Reason, result.PCovid), (stored?.Status, stored?.Reason, stored?.PCovid));
        }

        var queue = storage.Clients.Queues.GetQueueClient(resultsQueue);
        var announced = new List<ScanResult>();
        while ((await queue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } messages)
        {
            foreach (var message in messages)
            {
                announced.Add(ScanResult.FromJson(Encoding.UTF8.GetString(message.Body.ToArray())));
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }

        Assert.Equal(answers.Keys.Order(StringComparer.Ordinal), announced.Select(m => m.ScanId).Order(StringComparer.Ordinal));
        Assert.Contains(answers.Values, a => a.Result.Status == ScanStatus.Scored);
        Assert.Contains(answers.Values, a => a.Result.Status == ScanStatus.Rejected);
    }
}
