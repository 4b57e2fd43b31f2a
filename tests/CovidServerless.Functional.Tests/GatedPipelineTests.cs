using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;

namespace CovidServerless.Functional.Tests;

/// <summary>The local pipeline with the committed input gate in front of the (tiny) test ensembles.</summary>
public sealed class GatedPipeline() : LocalPipeline(ModelFolder.WithStandardEnsembles().WithCommittedGate().Write());

[CollectionDefinition(Name)]
public sealed class GatedPipelineCollection : ICollectionFixture<GatedPipeline>
{
    public const string Name = "gated local pipeline";
}

[Collection(GatedPipelineCollection.Name)]
public sealed class GatedPipelineTests(GatedPipeline pipeline)
{
    [Fact]
    public async Task A_blank_upload_ends_rejected_with_the_reason_the_gate_score_and_no_model_rows()
    {
        const string blobName = "scanner/blank.png";

        await pipeline.UploadAsync("chest", blobName, TestImages.Uniform(0, 512, 512));
        var result = await pipeline.WaitForResultAsync("chest", blobName);

        Assert.Equal(ScanStatus.Rejected, result.Status);
        Assert.Contains("no content", result.Reason, StringComparison.Ordinal);
        Assert.Null(result.Verdict);
        Assert.Null(result.PCovid);
        Assert.Empty(result.Models);
        Assert.NotNull(result.Gate);
        Assert.False(result.Gate.Passed);
        Assert.Single(await pipeline.Storage.RowsForBlobAsync(Modality.Chest, blobName)); // the result row only, no model rows
        var message = Assert.Single(await pipeline.Storage.ResultMessagesAsync(), m => m.ScanId == result.ScanId);
        Assert.Equal(result.Gate, message.Gate);
    }

    [Fact]
    public async Task The_models_list_names_the_input_gate_once_per_modality_with_its_threshold_after_the_members()
    {
        using var manifest = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "models", "manifest.json")));
        var gate = manifest.RootElement.GetProperty("gate");

        var models = (await pipeline.GetJsonAsync("/api/models")).EnumerateArray().ToList();

        var gates = models.Where(m => m.GetProperty("role").GetString() == "gate").ToList();
        Assert.Equal(8, models.TakeWhile(m => m.GetProperty("role").GetString() == "member").Count());
        Assert.Equal(["chest", "ct"], gates.Select(g => g.GetProperty("modality").GetString()));
        Assert.All(gates, g =>
        {
            Assert.Equal(gate.GetProperty("model").GetProperty("name").GetString(), g.GetProperty("name").GetString());
            Assert.Equal(gate.GetProperty("model").GetProperty("sha256").GetString(), g.GetProperty("sha256").GetString());
            Assert.Equal(gate.GetProperty("thresholds").GetProperty(g.GetProperty("modality").GetString()!).GetDouble(), g.GetProperty("gateThreshold").GetDouble());
        });
    }

    [SkippableFact]
    public async Task A_real_scan_passes_the_gate_and_its_result_shows_the_gate_score()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var file = Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, "chest", "val", "noncovid")).Order(StringComparer.Ordinal).First();
        const string blobName = "ward/frontal.jpg";

        await pipeline.UploadAsync("chest", blobName, File.ReadAllBytes(file));
        var result = await pipeline.WaitForResultAsync("chest", blobName);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(4, result.Models.Count);
        Assert.NotNull(result.Gate);
        Assert.True(result.Gate.Passed);
        Assert.InRange(result.Gate.Score, result.Gate.Threshold, 1.0);
    }
}
