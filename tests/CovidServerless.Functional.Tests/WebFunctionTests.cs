using System.Text.Json;
using CovidServerless.Core.Api;
using CovidServerless.Core.Results;
using CovidServerless.Functions;
using CovidServerless.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>The Functions app's browser routes, called directly with the core services (no Functions host exists here).</summary>
[Collection(LocalPipelineCollection.Name)]
public sealed class WebFunctionTests(LocalPipeline pipeline)
{
    [Fact]
    public async Task The_upload_function_stores_the_body_answers_202_with_a_location_and_the_result_function_finds_it_by_id()
    {
        var functions = ActivatorUtilities.CreateInstance<WebFunctions>(pipeline.Services, EasyAuth.Access());
        var context = EasyAuth.Context(EasyAuth.ReaderObjectId, EasyAuth.UploadRole);
        context.Request.Body = new MemoryStream(TestImages.Uniform(120, 64, 64));
        context.Request.ContentLength = context.Request.Body.Length;

        var accepted = (JsonResult)await functions.UploadScan(context.Request, "chest", default);

        Assert.Equal(202, accepted.StatusCode);
        var scanId = ((UploadAccepted)accepted.Value!).ScanId;
        Assert.Equal($"/api/results/{scanId}", context.Response.Headers.Location.ToString());
        await pipeline.WaitForResultAsync("chest", ((UploadAccepted)accepted.Value!).BlobName);
        var found = (JsonResult)await functions.GetResult(EasyAuth.Reader(), scanId, default);
        Assert.Equal((200, scanId), (found.StatusCode, ((ScanResult)found.Value!).ScanId));

        var imageContext = EasyAuth.Context(EasyAuth.ReaderObjectId, EasyAuth.ReadRole);
        var image = (FileContentResult)await functions.GetResultImage(imageContext.Request, scanId, default);
        Assert.Equal("image/png", image.ContentType);
        Assert.Equal("nosniff", imageContext.Response.Headers.XContentTypeOptions.ToString());
    }

    [Fact]
    public async Task The_upload_function_refuses_a_text_file_with_415()
    {
        var functions = ActivatorUtilities.CreateInstance<WebFunctions>(pipeline.Services, EasyAuth.Access());
        var context = EasyAuth.Context(EasyAuth.ReaderObjectId, EasyAuth.UploadRole);
        context.Request.Body = new MemoryStream("not an image"u8.ToArray());

        var refused = (JsonResult)await functions.UploadScan(context.Request, "chest", default);

        Assert.Equal(415, refused.StatusCode);
        Assert.Contains("not a readable image", ((ApiError)refused.Value!).Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "index.html", "text/html; charset=utf-8")]
    [InlineData("app.js", "app.js", "text/javascript; charset=utf-8")]
    [InlineData("app.css", "app.css", "text/css; charset=utf-8")]
    public void The_web_app_function_serves_the_local_hosts_static_files_with_the_content_security_policy(string? file, string expected, string contentType)
    {
        var context = new DefaultHttpContext();

        var served = (PhysicalFileResult)WebFunctions.WebApp(context.Request, file);

        Assert.Equal(contentType, served.ContentType);
        Assert.Equal(
            File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "CovidServerless.LocalHost", "wwwroot", expected)),
            File.ReadAllText(served.FileName));
        Assert.Equal(LocalHost.WebUi.ContentSecurityPolicy, context.Response.Headers.ContentSecurityPolicy.ToString());
        Assert.Equal(WebFunctions.ContentSecurityPolicy, LocalHost.WebUi.ContentSecurityPolicy);
    }

    [Theory]
    [InlineData("../host.json")]
    [InlineData("host.json")]
    [InlineData("models%2Fmanifest.json")]
    [InlineData("missing.js")]
    public void The_web_app_function_serves_nothing_but_its_own_files(string file)
    {
        Assert.IsType<NotFoundResult>(WebFunctions.WebApp(new DefaultHttpContext().Request, file));
    }

    [Fact]
    public async Task The_models_list_carries_each_models_ensemble_threshold()
    {
        var models = (JsonResult)await ActivatorUtilities.CreateInstance<ResultsFunctions>(pipeline.Services, EasyAuth.Access())
            .GetModels(EasyAuth.Reader(), default);

        var descriptions = (IReadOnlyList<ModelDescription>)models.Value!;
        Assert.All(descriptions, d => Assert.Equal(0.5, d.EnsembleThreshold));
        Assert.Contains("\"ensembleThreshold\":0.5", JsonSerializer.Serialize(descriptions[0], ScanResult.JsonOptions), StringComparison.Ordinal);
    }
}
