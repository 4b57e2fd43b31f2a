using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.Functions;
using CovidServerless.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>The Functions app's classes, called directly with the core services (no Functions host exists here).</summary>
[Collection(LocalPipelineCollection.Name)]
public sealed class FunctionClassTests(LocalPipeline pipeline)
{
    private T Create<T>() => ActivatorUtilities.CreateInstance<T>(pipeline.Services);

    private ResultsFunctions Results() => ActivatorUtilities.CreateInstance<ResultsFunctions>(pipeline.Services, EasyAuth.Access());

    [Fact]
    public async Task The_ct_blob_trigger_function_scores_with_the_ct_ensemble_and_records_the_result()
    {
        var blob = await pipeline.UploadAsync("ct", "functions/direct.png", TestImages.Uniform(40));

        await Create<ScanTriggerFunctions>().ScoreCtScan(blob, default);

        var result = await pipeline.Services.GetRequiredService<ResultsQuery>().GetLatestAsync(Modality.Ct, "functions/direct.png", default);
        Assert.Equal(ScanStatus.Scored, result!.Status);
        var (weights, biases) = ModelFolder.StandardMembers["ct"];
        Assert.Equal(TinyOnnxModels.ExpectedPCovid(weights[0], biases[0], 40 / 255.0), result.Models[0].PCovid, tolerance: 1e-3);
    }

    [Fact]
    public async Task The_chest_blob_trigger_function_rejects_a_bad_scan_with_its_reason()
    {
        var blob = await pipeline.UploadAsync("chest", "functions/not-an-image.png", "hello"u8.ToArray());

        await Create<ScanTriggerFunctions>().ScoreChestScan(blob, default);

        var result = await pipeline.Services.GetRequiredService<ResultsQuery>().GetLatestAsync(Modality.Chest, "functions/not-an-image.png", default);
        Assert.Equal((ScanStatus.Rejected, true), (result!.Status, result.Reason!.Contains("not a readable image", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_http_functions_answer_the_contract()
    {
        await pipeline.UploadAsync("chest", "functions/http.png", TestImages.Uniform(99));
        await pipeline.WaitForResultAsync("chest", "functions/http.png");
        var functions = Results();
        var request = EasyAuth.Reader();

        var found = (JsonResult)await functions.GetScan(request, "chest", "functions/http.png", default);
        var missing = (JsonResult)await functions.GetScan(request, "chest", "functions/none.png", default);
        var health = (JsonResult)await functions.GetHealth(request, default);
        var models = (JsonResult)await functions.GetModels(request, default);

        Assert.Equal((200, "functions/http.png"), (found.StatusCode, ((ScanResult)found.Value!).BlobName));
        Assert.Equal(404, missing.StatusCode);
        Assert.Equal(200, health.StatusCode);
        Assert.Equal(8, ((IReadOnlyList<ModelDescription>)models.Value!).Count);
    }

    [Fact]
    public async Task The_scan_function_finds_a_blob_whether_a_2F_in_its_route_value_was_a_folder_separator_or_part_of_the_name()
    {
        await pipeline.UploadAsync("chest", "functions/literal%2Fname.png", TestImages.Uniform(97));
        await pipeline.UploadAsync("chest", "functions/folder/name.png", TestImages.Uniform(98));
        await pipeline.WaitForResultAsync("chest", "functions/literal%2Fname.png");
        await pipeline.WaitForResultAsync("chest", "functions/folder/name.png");
        var functions = Results();
        var request = EasyAuth.Reader();

        // Route values as the worker would see them, the client's "%2F" and "%252F" having arrived alike.
        var literal = (JsonResult)await functions.GetScan(request, "chest", "functions/literal%2Fname.png", default);
        var folder = (JsonResult)await functions.GetScan(request, "chest", "functions%2Ffolder%2Fname.png", default);

        Assert.Equal((200, "functions/literal%2Fname.png"), (literal.StatusCode, ((ScanResult)literal.Value!).BlobName));
        Assert.Equal((200, "functions/folder/name.png"), (folder.StatusCode, ((ScanResult)folder.Value!).BlobName));
    }

    [Fact]
    public async Task The_poison_queue_function_records_a_failed_result()
    {
        const string message = """{"ContainerName":"ct-scans","BlobName":"functions/poisoned.png","ETag":"\"0x1234\""}""";

        await Create<FailedScanFunction>().RecordFailedScan(message, default);

        var result = await pipeline.Services.GetRequiredService<ResultsQuery>().GetLatestAsync(Modality.Ct, "functions/poisoned.png", default);
        Assert.Equal(ScanStatus.Failed, result!.Status);
    }

    [Fact]
    public async Task A_poison_message_whose_handling_failed_every_retry_records_the_failed_result_from_the_poison_queue_s_own_poison_queue()
    {
        const string message = """{"ContainerName":"chest","BlobName":"functions/poisoned-twice.png","ETag":"\"0x99\""}""";
        var trigger = typeof(FailedScanFunction).GetMethod(nameof(FailedScanFunction.RecordFailedScanAgain))!.GetParameters()[0]
            .GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.QueueTriggerAttribute), false).Cast<Microsoft.Azure.Functions.Worker.QueueTriggerAttribute>().Single();

        await Create<FailedScanFunction>().RecordFailedScanAgain(message, default);

        // The Functions host moves a message that failed five times to "<queue>-poison".
        Assert.Equal(PoisonScanHandler.QueueName + "-poison", trigger.QueueName);
        var result = await pipeline.Services.GetRequiredService<ResultsQuery>().GetLatestAsync(Modality.Chest, "functions/poisoned-twice.png", default);
        Assert.Equal(ScanStatus.Failed, result!.Status);
    }

    [Fact]
    public async Task A_poison_message_for_another_container_is_ignored()
    {
        var handled = await pipeline.Services.GetRequiredService<PoisonScanHandler>()
            .HandleAsync("""{"ContainerName":"uploads","BlobName":"x.png","ETag":"1"}""", default);

        Assert.Null(handled);
    }
}
