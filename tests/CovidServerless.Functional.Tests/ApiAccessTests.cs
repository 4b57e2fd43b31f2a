using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.Core.Results;
using CovidServerless.Functions;
using CovidServerless.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// Who may call the function app's API: a caller App Service authentication identified, holding the call's app role;
/// and the access log, one line per call answered, naming the caller and the scans, never a blob name.
/// </summary>
[Collection(LocalPipelineCollection.Name)]
public sealed class ApiAccessTests(LocalPipeline pipeline) : IDisposable
{
    private const string OtherObjectId = "0a1b2c3d-4e5f-4a6b-8c7d-998877665544";

    private readonly LogMessages logs = new();

    private ResultsFunctions Results(bool disabledForLocalDevelopment = false) =>
        ActivatorUtilities.CreateInstance<ResultsFunctions>(pipeline.Services, EasyAuth.Access(logs, disabledForLocalDevelopment));

    public void Dispose() => logs.Dispose();

    private WebFunctions Web() => ActivatorUtilities.CreateInstance<WebFunctions>(pipeline.Services, EasyAuth.Access(logs));

    [Fact]
    public async Task A_request_without_a_signed_in_caller_gets_401_from_every_route_and_reads_nothing()
    {
        var anonymous = new DefaultHttpContext().Request;
        var results = Results();
        var web = Web();

        IActionResult[] answers =
        [
            await results.ListScans(anonymous, default),
            await results.GetScan(anonymous, "chest", "anything.png", default),
            await results.GetSeries(anonymous, "1.2.3", default),
            await results.GetModels(anonymous, default),
            await results.GetHealth(anonymous, default),
            await web.GetResult(anonymous, new string('a', 32), default),
            await web.GetResultImage(anonymous, new string('a', 32), default),
            await web.GetResultHeatmap(anonymous, new string('a', 32), default),
        ];

        Assert.All(answers, a => Assert.Equal(401, Assert.IsType<JsonResult>(a).StatusCode));
        Assert.All(logs.All, m => Assert.StartsWith("API access refused (HTTP 401): caller (none)", m, StringComparison.Ordinal));
        Assert.Equal(answers.Length, logs.All.Count);
    }

    [Fact]
    public async Task An_upload_without_a_signed_in_caller_gets_401_and_stores_nothing()
    {
        const string name = "access/anonymous-upload.png";
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString($"?name={Uri.EscapeDataString(name)}");
        context.Request.Body = new MemoryStream(TestImages.Uniform(120, 64, 64));

        var answer = (JsonResult)await Web().UploadScan(context.Request, "chest", default);

        Assert.Equal(401, answer.StatusCode);
        Assert.False(await pipeline.Blobs.GetBlobContainerClient(ScanContainers.Chest).GetBlobClient(name).ExistsAsync());
    }

    [Fact]
    public async Task A_caller_without_the_calls_app_role_gets_403_naming_the_role()
    {
        var uploaderOnly = EasyAuth.Context(OtherObjectId, EasyAuth.UploadRole).Request;
        var readerUploading = EasyAuth.Context(OtherObjectId, EasyAuth.ReadRole);
        readerUploading.Request.Body = new MemoryStream(TestImages.Uniform(120, 64, 64));

        var read = (JsonResult)await Results().ListScans(uploaderOnly, default);
        var upload = (JsonResult)await Web().UploadScan(readerUploading.Request, "chest", default);

        Assert.Equal(403, read.StatusCode);
        Assert.Contains("'Results.Read'", ((ApiError)read.Value!).Error, StringComparison.Ordinal);
        Assert.Equal(403, upload.StatusCode);
        Assert.Contains("'Scans.Upload'", ((ApiError)upload.Value!).Error, StringComparison.Ordinal);
        Assert.Equal(2, logs.All.Count(m => m.StartsWith($"API access refused (HTTP 403): caller {OtherObjectId}", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Each_answered_read_logs_one_line_with_the_callers_object_id_and_the_scan_id_never_the_blob_name()
    {
        const string name = "access/Jane-Doe-canary.png";
        await pipeline.UploadAsync("chest", name, TestImages.Uniform(77));
        var scored = await pipeline.WaitForResultAsync("chest", name);

        var byName = (JsonResult)await Results().GetScan(EasyAuth.Reader(), "chest", name, default);
        var image = await Web().GetResultImage(EasyAuth.Reader(), scored.ScanId, default);

        Assert.Equal(200, byName.StatusCode);
        Assert.IsType<FileContentResult>(image);
        Assert.Equal(
            [
                $"API access: caller {EasyAuth.ReaderObjectId} Read GET /api/scans/{{modality}}/{{blobName}}: HTTP 200, ids {scored.ScanId}",
                $"API access: caller {EasyAuth.ReaderObjectId} Read GET /api/results/{{scanId}}/image: HTTP 200, ids {scored.ScanId}",
            ],
            logs.All);
        Assert.DoesNotContain(logs.All, m => m.Contains("Jane-Doe", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_route_value_that_is_not_a_scan_id_is_not_written_to_the_access_log()
    {
        var answer = (JsonResult)await Web().GetResult(EasyAuth.Reader(), "Jane-Doe-canary", default);

        Assert.Equal(400, answer.StatusCode);
        Assert.Equal($"API access: caller {EasyAuth.ReaderObjectId} Read GET /api/results/{{scanId}}: HTTP 400, ids -", Assert.Single(logs.All));
    }

    [Fact]
    public async Task With_checks_disabled_for_local_development_an_anonymous_request_is_answered()
    {
        var answer = (JsonResult)await Results(disabledForLocalDevelopment: true).GetHealth(new DefaultHttpContext().Request, default);

        Assert.Equal(200, answer.StatusCode);
    }

    [Theory]
    [InlineData("not base64 at all")]
    [InlineData("eyJjbGFpbXMiOiAiYSJ9")] // {"claims": "a"}
    [InlineData("e30=")] // {}
    public async Task A_principal_header_Easy_Auth_would_not_write_is_treated_as_no_caller(string header)
    {
        var request = new DefaultHttpContext().Request;
        request.Headers[ApiCaller.PrincipalHeader] = header;

        var answer = (JsonResult)await Results().GetHealth(request, default);

        Assert.Equal(401, answer.StatusCode);
    }
}
