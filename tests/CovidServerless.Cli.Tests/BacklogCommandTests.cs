using System.Text.Json;
using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CovidServerless.Cli.Tests;

/// <summary><c>covidscan backlog</c>: the scans in storage that have no result, and re-queuing them, against Azurite.</summary>
[Collection(ConsoleCapture.Collection)]
public sealed class BacklogCommandTests : PipelineOnAzurite
{
    private BlobContainerClient Chest => Services.GetRequiredService<StorageClients>().Blobs.GetBlobContainerClient(ScanContainers.Chest);

    private Task<(int Exit, List<JsonElement> Lines, string Error)> BacklogAsync(params string[] options) =>
        RunCliAsync(["backlog", "-m", "chest", "--older-than-hours", "0", .. options]);

    [Fact]
    public async Task Backlog_lists_the_scans_without_a_result_and_leaves_out_those_with_one()
    {
        var answered = await UploadAsync("ward/answered.png", 10);
        var first = await UploadAsync("ward/unanswered-1.png", 20);
        var second = await UploadAsync("ward/unanswered-2.png", 30);
        await SaveRejectedAsync(answered);

        var (exit, lines, error) = await BacklogAsync();

        Assert.Equal(0, exit);
        Assert.Equal(
            new[] { first.ScanId, second.ScanId }.Order(StringComparer.Ordinal),
            lines.Select(l => l.GetProperty("scanId").GetString()!).Order(StringComparer.Ordinal));
        Assert.Contains("2 scan(s) without a result; --requeue processes them again.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requeue_writes_each_unanswered_scan_again_as_a_new_version_with_the_same_bytes()
    {
        var stuck = await UploadAsync("ward/stuck.png", 40);
        var before = (await Chest.GetBlobClient(stuck.BlobName).DownloadContentAsync()).Value.Content.ToArray();

        var (exit, lines, error) = await BacklogAsync("--requeue");
        var (_, after, _) = await BacklogAsync();

        Assert.Equal(0, exit);
        var line = Assert.Single(lines);
        Assert.Equal(stuck.ScanId, line.GetProperty("scanId").GetString());
        var requeuedAs = line.GetProperty("requeuedAs").GetString();
        Assert.NotEqual(stuck.ScanId, requeuedAs);
        Assert.Equal(requeuedAs, Assert.Single(after).GetProperty("scanId").GetString()); // the new version, still waiting for the pipeline
        Assert.Equal(before, (await Chest.GetBlobClient(stuck.BlobName).DownloadContentAsync()).Value.Content.ToArray());
        Assert.Contains("1 re-queued as new versions", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scan_uploaded_again_after_it_was_listed_is_not_requeued_over_the_newer_version()
    {
        await UploadAsync("ward/replaced.png", 50);
        var backlog = Services.GetRequiredService<ScanBacklog>();
        var listed = Assert.Single(await backlog.UnansweredAsync(Modality.Chest, TimeSpan.Zero, default));
        await UploadAsync("ward/replaced.png", 60);
        var newer = (await Chest.GetBlobClient(listed.BlobName).GetPropertiesAsync()).Value.ETag;

        var again = await backlog.RequeueAsync(listed, 1 << 20, default);

        Assert.Null(again);
        Assert.Equal(newer, (await Chest.GetBlobClient(listed.BlobName).GetPropertiesAsync()).Value.ETag);
        Assert.Equal(TestImages.Uniform(60), (await Chest.GetBlobClient(listed.BlobName).DownloadContentAsync()).Value.Content.ToArray());
    }

    [Fact]
    public async Task Scans_older_than_the_result_retention_are_left_out_as_their_results_may_have_been_swept()
    {
        var expired = await UploadAsync("ward/expired.png", 80);
        var twoDaysOn = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromDays(2));
        ScanBacklog Backlog(int retentionDays) => new(
            Services.GetRequiredService<StorageClients>(), Services.GetRequiredService<ResultStore>(),
            Options.Create(new ResultRetentionOptions { RetentionDays = retentionDays }), twoDaysOn);

        Assert.Empty(await Backlog(retentionDays: 1).UnansweredAsync(Modality.Chest, TimeSpan.Zero, default));
        Assert.Equal(expired.ScanId, Assert.Single(await Backlog(retentionDays: 0).UnansweredAsync(Modality.Chest, TimeSpan.Zero, default)).ScanId);
    }

    [Fact]
    public async Task Scans_younger_than_the_given_age_are_left_out_as_possibly_still_in_processing()
    {
        await UploadAsync("ward/just-uploaded.png", 70);

        Environment.SetEnvironmentVariable("AzureWebJobsStorage", Azurite.ConnectionString);
        try
        {
            var (exit, output, error) = await ConsoleCapture.RunAsync("backlog", "-m", "chest");

            Assert.Equal(0, exit);
            Assert.Empty(output.Trim());
            Assert.Contains("0 scan(s) without a result.", error, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AzureWebJobsStorage", null);
        }
    }
}
