using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The local pipeline whose chest ensemble abstains within 0.2 of its 0.5 threshold (CT has no band). The tiny chest
/// members rise with brightness: mid-grey scores about 0.50 (indeterminate), near-white about 0.75 (covid).
/// </summary>
public sealed class AbstainingPipeline() : LocalPipeline(ModelFolder.WithAbstainingChest(margin: 0.2));

[CollectionDefinition(Name)]
public sealed class AbstainingPipelineCollection : ICollectionFixture<AbstainingPipeline>
{
    public const string Name = "abstaining local pipeline";
}

[Collection(AbstainingPipelineCollection.Name)]
public sealed class IndeterminateVerdictTests(AbstainingPipeline pipeline)
{
    [Fact]
    public async Task A_scan_inside_the_band_is_stored_sent_and_answered_as_indeterminate_and_only_the_indeterminate_filter_lists_it()
    {
        await pipeline.UploadAsync("chest", "band/mid-grey.png", TestImages.Uniform(128));
        await pipeline.UploadAsync("chest", "band/bright.png", TestImages.Uniform(250));
        await pipeline.UploadAsync("ct", "band/mid-grey.png", TestImages.Uniform(128));
        var unsure = await pipeline.WaitForResultAsync("chest", "band/mid-grey.png");
        var sure = await pipeline.WaitForResultAsync("chest", "band/bright.png");
        var ct = await pipeline.WaitForResultAsync("ct", "band/mid-grey.png");

        // The result as the API answers it by blob name: scored, indeterminate, with the figures behind it.
        Assert.Equal((ScanStatus.Scored, Verdicts.Indeterminate), (unsure.Status, unsure.Verdict));
        Assert.InRange(unsure.PCovid!.Value, 0.3, 0.7);
        Assert.Equal(0.5, unsure.Threshold);
        Assert.Equal(4, unsure.Models.Count);
        Assert.All(unsure.Models, m => Assert.Equal(Verdicts.For(m.PCovid, 0.5), m.Verdict)); // members never abstain
        Assert.Equal(Verdicts.Covid, sure.Verdict);
        Assert.Equal(Verdicts.NonCovid, ct.Verdict); // the same image, but CT's rule has no band

        // The listing row is the last a result writes: once the filter lists it, its rows and message exist too.
        var indeterminate = await pipeline.ListedAsync("/api/scans?verdict=indeterminate&top=50", "scanId", unsure.ScanId);
        Assert.Equal([unsure.ScanId], indeterminate.Select(i => i.GetProperty("scanId").GetString()));
        Assert.Equal("indeterminate", indeterminate[0].GetProperty("verdict").GetString());
        var covid = await pipeline.ListedAsync("/api/scans?verdict=covid&top=50", "scanId", sure.ScanId);
        Assert.DoesNotContain(covid, i => i.GetProperty("scanId").GetString() == unsure.ScanId);
        var chestIndeterminate = await pipeline.ListedAsync("/api/scans?modality=chest&verdict=indeterminate", "scanId", unsure.ScanId);
        Assert.Single(chestIndeterminate);

        // Stored: the ensemble row of the table says so; by scan id the API answers the same.
        var rows = await pipeline.Storage.RowsForBlobAsync(Modality.Chest, "band/mid-grey.png");
        Assert.Equal(Verdicts.Indeterminate, Assert.Single(rows, r => r.GetString("Member") == "ensemble").GetString("Verdict"));
        var byId = await pipeline.GetJsonAsync($"/api/results/{unsure.ScanId}");
        Assert.Equal("indeterminate", byId.GetProperty("verdict").GetString());
        Assert.Equal(unsure.PCovid!.Value, byId.GetProperty("pCovid").GetDouble(), 12);

        // Sent: the queue message a downstream consumer reads carries it.
        var message = Assert.Single(await pipeline.Storage.ResultMessagesAsync(), m => m.ScanId == unsure.ScanId);
        Assert.Equal((ScanStatus.Scored, Verdicts.Indeterminate, unsure.PCovid), (message.Status, message.Verdict, message.PCovid));
    }

    [Theory]
    [InlineData("Indeterminate")] // values are lower case, as stored
    [InlineData("unsure")]
    public async Task An_unknown_verdict_filter_is_a_bad_request_listing_the_three_verdicts(string verdict)
    {
        using var response = await pipeline.Http.GetAsync($"/api/scans?verdict={verdict}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
        Assert.Equal($"Unknown verdict '{verdict}': use 'covid', 'noncovid' or 'indeterminate'.", error);
    }
}
