using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

[Collection(LocalPipelineCollection.Name)]
public sealed class EndToEndTests(LocalPipeline pipeline)
{
    [SkippableTheory]
    [MemberData(nameof(ValFolders.ModalitiesAndLabels), MemberType = typeof(ValFolders))]
    public async Task A_real_scan_dropped_into_its_container_gets_one_row_per_model_an_ensemble_row_a_message_and_an_answer(string modality, string label)
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var file = Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, modality, "val", label)).Order(StringComparer.Ordinal).First();
        var bytes = await File.ReadAllBytesAsync(file);
        var blobName = $"e2e/{label}/{Path.GetFileName(file)}";

        var blob = await pipeline.UploadAsync(modality, blobName, bytes);
        var result = await pipeline.WaitForResultAsync(modality, blobName);

        // The same bytes scored in-process by this modality's ensemble give the same answer the pipeline stored.
        var expected = await pipeline.Services.GetRequiredService<IScanScorer>().ScoreAsync(ModalityNames.Parse(modality), bytes, default);
        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal((await blob.GetPropertiesAsync()).Value.ETag.ToString().Trim('"'), result.BlobVersion);
        Assert.Equal(ModelFolder.ArchitectureNames, result.Models.Select(m => m.Name));
        Assert.Equal(expected.PCovid, result.PCovid!.Value, tolerance: 1e-6);
        Assert.Equal(expected.Verdict, result.Verdict);

        var rows = await pipeline.Storage.RowsForBlobAsync(ModalityNames.Parse(modality), blobName);
        Assert.Equal(5, rows.Count);
        Assert.Single(rows, r => r.GetString("Member") == "ensemble");
        var messages = (await pipeline.Storage.ResultMessagesAsync()).Where(m => m.ScanId == result.ScanId).ToList();
        Assert.Single(messages);
        Assert.Equal(result.PCovid, messages[0].PCovid);
    }

    [Fact]
    public async Task Chest_blobs_are_scored_only_by_chest_models_and_ct_blobs_only_by_ct_models()
    {
        var scan = TestImages.Uniform(250, 128, 128);

        await pipeline.UploadAsync("chest", "routing/bright.png", scan);
        await pipeline.UploadAsync("ct", "routing/bright.png", scan);
        var chest = await pipeline.WaitForResultAsync("chest", "routing/bright.png");
        var ct = await pipeline.WaitForResultAsync("ct", "routing/bright.png");

        // Test ensembles: chest members rise with brightness, CT members fall (ModelFolder.StandardMembers).
        var mean = 250 / 255.0;
        for (var i = 0; i < 4; i++)
        {
            var (cw, cb) = (ModelFolder.StandardMembers["chest"].Weights[i], ModelFolder.StandardMembers["chest"].Biases[i]);
            var (tw, tb) = (ModelFolder.StandardMembers["ct"].Weights[i], ModelFolder.StandardMembers["ct"].Biases[i]);
            Assert.Equal(TinyOnnxModels.ExpectedPCovid(cw, cb, mean), chest.Models[i].PCovid, tolerance: 1e-3);
            Assert.Equal(TinyOnnxModels.ExpectedPCovid(tw, tb, mean), ct.Models[i].PCovid, tolerance: 1e-3);
        }

        Assert.Equal((Verdicts.Covid, Verdicts.NonCovid), (chest.Verdict, ct.Verdict));
    }

    [Fact]
    public async Task A_new_upload_under_the_same_name_is_a_new_version_and_history_keeps_both()
    {
        await pipeline.UploadAsync("chest", "versions/patient.png", TestImages.Uniform(20));
        var first = await pipeline.WaitForResultAsync("chest", "versions/patient.png");
        var second = await pipeline.UploadAsync("chest", "versions/patient.png", TestImages.Uniform(240));
        var secondVersion = (await second.GetPropertiesAsync()).Value.ETag.ToString().Trim('"');

        var latest = await pipeline.WaitForResultAsync("chest", "versions/patient.png", secondVersion);
        var history = await pipeline.GetJsonAsync("/api/scans/chest/versions/patient.png?history=true");

        Assert.NotEqual(first.ScanId, latest.ScanId);
        Assert.True(latest.PCovid > first.PCovid);
        Assert.Equal(2, history.GetArrayLength());
        Assert.Equal(10, (await pipeline.Storage.RowsForBlobAsync(Modality.Chest, "versions/patient.png")).Count);
    }

    [Fact]
    public async Task Recent_results_list_newest_first_and_filter_by_modality()
    {
        await pipeline.UploadAsync("ct", "recent/a.png", TestImages.Uniform(60));
        await pipeline.WaitForResultAsync("ct", "recent/a.png");

        // The listing's row is the last a result writes (after its rows and its message): wait for it to appear.
        var items = await pipeline.ListedAsync("/api/scans?modality=ct&top=50", "blobName", "recent/a.png");

        Assert.All(items, i => Assert.Equal("ct", i.GetProperty("modality").GetString()));
        var uploaded = items.Select(i => i.GetProperty("uploadedAt").GetDateTimeOffset()).ToList();
        Assert.Equal(uploaded.OrderDescending(), uploaded);
    }

    [Fact]
    public async Task A_blob_is_answered_under_its_own_name_whether_or_not_its_slashes_are_encoded()
    {
        const string name = "names/50% off %41 #1.png"; // a literal "%41", which must not become "A"
        await pipeline.UploadAsync("chest", name, TestImages.Uniform(90));

        var result = await pipeline.WaitForResultAsync("chest", name);
        var wholeNameEncoded = await pipeline.GetJsonAsync($"/api/scans/chest/{Uri.EscapeDataString(name)}");

        Assert.Equal(name, result.BlobName);
        Assert.Equal(result.ScanId, wholeNameEncoded.GetProperty("scanId").GetString());
    }

    [Fact]
    public async Task A_blob_whose_name_holds_a_literal_2F_is_answered_under_that_name_not_as_a_folder()
    {
        const string name = "names/100%2F200.png";
        await pipeline.UploadAsync("chest", name, TestImages.Uniform(95));
        await pipeline.WaitForResultAsync("chest", name);

        var segmentsEncoded = await pipeline.Http.GetAsync("/api/scans/chest/names/100%252F200.png");
        var asAFolder = await pipeline.Http.GetAsync("/api/scans/chest/names/100/200.png");

        Assert.Equal(HttpStatusCode.OK, segmentsEncoded.StatusCode);
        Assert.Equal(name, (await segmentsEncoded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("blobName").GetString());
        Assert.Equal(HttpStatusCode.NotFound, asAFolder.StatusCode);
    }

    [Fact]
    public async Task Unknown_blobs_answer_404_and_bad_queries_400()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await pipeline.Http.GetAsync("/api/scans/chest/never/uploaded.png")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await pipeline.Http.GetAsync("/api/scans/mri/x.png")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await pipeline.Http.GetAsync("/api/scans?top=0")).StatusCode);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("%20")]
    [InlineData("%20b")]
    [InlineData("a%20b%20c")]
    public async Task A_continuation_token_that_is_not_a_whole_token_this_api_returned_answers_400_not_an_empty_page(string token)
    {
        var response = await pipeline.Http.GetAsync($"/api/scans?top=1&continuationToken={token}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
        Assert.Contains("pass back the previous page's token whole", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_continuation_token_asks_for_the_first_page()
    {
        Assert.Equal(HttpStatusCode.OK, (await pipeline.Http.GetAsync("/api/scans?top=1&continuationToken=")).StatusCode);
    }

    [Fact]
    public async Task The_continuation_token_of_a_page_fetches_the_next_page()
    {
        for (var i = 0; i < 2; i++)
        {
            await pipeline.UploadAsync("ct", $"paging/{i}.png", TestImages.Uniform((byte)(70 + i)));
            await pipeline.WaitForResultAsync("ct", $"paging/{i}.png");
        }

        var first = await pipeline.GetJsonAsync("/api/scans?modality=ct&top=1");
        var token = first.GetProperty("continuationToken").GetString()!;
        var second = await pipeline.GetJsonAsync($"/api/scans?modality=ct&top=1&continuationToken={Uri.EscapeDataString(token)}");

        var firstItem = first.GetProperty("items")[0];
        var secondItem = second.GetProperty("items")[0];
        Assert.NotEqual(firstItem.GetProperty("scanId").GetString(), secondItem.GetProperty("scanId").GetString());
        Assert.True(firstItem.GetProperty("uploadedAt").GetDateTimeOffset() >= secondItem.GetProperty("uploadedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Models_and_health_describe_the_loaded_ensembles_and_list_no_gate_where_none_is_loaded()
    {
        var models = await pipeline.GetJsonAsync("/api/models");
        var health = await pipeline.Http.GetAsync("/api/health");

        Assert.Equal(8, models.GetArrayLength());
        var first = models[0];
        Assert.Equal(64, first.GetProperty("sha256").GetString()!.Length);
        Assert.Equal("NHWC", first.GetProperty("input").GetProperty("layout").GetString());
        Assert.All(models.EnumerateArray(), m => Assert.Equal("member", m.GetProperty("role").GetString()));
        Assert.All(models.EnumerateArray(), m => Assert.False(m.GetProperty("ensembleCalibrated").GetBoolean())); // the test manifest has none
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
