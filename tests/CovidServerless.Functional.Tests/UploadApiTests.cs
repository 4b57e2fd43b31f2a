using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;

namespace CovidServerless.Functional.Tests;

/// <summary>POST /api/scans/{modality} and GET /api/results/{scanId}[/image] on the local host, against its own Azurite.</summary>
[Collection(LocalPipelineCollection.Name)]
public sealed class UploadApiTests(LocalPipeline pipeline)
{
    [Fact]
    public async Task An_image_posted_without_a_name_is_stored_under_a_generated_one_and_answered_202_with_the_scan_id_its_result_carries()
    {
        var scan = TestImages.Uniform(250, 96, 96);

        using var response = await PostAsync("chest", scan);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var scanId = accepted.GetProperty("scanId").GetString()!;
        var blobName = accepted.GetProperty("blobName").GetString()!;
        Assert.True(ScanIdentity.IsScanId(scanId), scanId);
        Assert.Matches("^[0-9a-f]{32}\\.png$", blobName);
        Assert.Equal($"/api/results/{scanId}", accepted.GetProperty("resultUrl").GetString());
        Assert.Equal($"/api/results/{scanId}", response.Headers.Location?.OriginalString);

        var blob = pipeline.Blobs.GetBlobContainerClient(ScanContainers.Chest).GetBlobClient(blobName);
        var properties = (await blob.GetPropertiesAsync()).Value;
        Assert.Equal("image/png", properties.ContentType);
        Assert.Equal(accepted.GetProperty("blobVersion").GetString(), properties.ETag.ToString().Trim('"'));

        var result = await WaitForResultByIdAsync(scanId);
        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(blobName, result.BlobName);
        Assert.Equal(ModelFolder.ArchitectureNames, result.Models.Select(m => m.Name));

        // The blob's own route answers the same result: both look-ups stay in step.
        Assert.Equal(scanId, (await pipeline.WaitForResultAsync("chest", blobName)).ScanId);
    }

    [Fact]
    public async Task An_image_posted_with_a_name_is_stored_under_that_name_in_its_modalitys_container()
    {
        var name = $"web/{Guid.NewGuid():N}/slice 7.png";

        using var response = await PostAsync("ct", TestImages.Uniform(40, 64, 64), name);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(name, accepted.GetProperty("blobName").GetString());
        Assert.Equal("ct", accepted.GetProperty("modality").GetString());
        Assert.True(await pipeline.Blobs.GetBlobContainerClient(ScanContainers.Ct).GetBlobClient(name).ExistsAsync());
        var result = await WaitForResultByIdAsync(accepted.GetProperty("scanId").GetString()!);
        Assert.Equal("ct", result.Modality);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_the_byte_limit_is_refused_with_413_and_nothing_is_stored(bool declaresLength)
    {
        var name = $"web/too-big-{Guid.NewGuid():N}.png";
        var body = new byte[LocalPipeline.MaxBytes + 1];
        TestImages.Uniform(9, 64, 64).CopyTo(body, 0);

        using var response = await PostAsync("chest", body, name, declaresLength);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains($"over the {LocalPipeline.MaxBytes:N0}-byte limit", await ErrorAsync(response), StringComparison.Ordinal);
        Assert.False(await pipeline.Blobs.GetBlobContainerClient(ScanContainers.Chest).GetBlobClient(name).ExistsAsync());
    }

    public static TheoryData<byte[], HttpStatusCode, string> RefusedFiles() => new()
    {
        { "These are meeting notes, not an image.\n"u8.ToArray(), HttpStatusCode.UnsupportedMediaType, "not a readable image" },
        { TestImages.Ico(), HttpStatusCode.UnsupportedMediaType, "Unsupported image format" },
        { [], HttpStatusCode.BadRequest, "empty" },
        { TestImages.Uniform(9, 16, 16), HttpStatusCode.BadRequest, "at least 32x32" },
        { TestImages.PngDeclaring(60_000, 60_000), HttpStatusCode.BadRequest, "60000x60000" },
    };

    [Theory]
    [MemberData(nameof(RefusedFiles))]
    public async Task A_file_the_pipeline_would_reject_is_refused_at_once_with_its_reason_and_nothing_is_stored(
        byte[] content, HttpStatusCode status, string reason)
    {
        var name = $"web/refused-{Guid.NewGuid():N}.png";

        using var response = await PostAsync("chest", content, name);

        Assert.Equal(status, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Contains(reason, error, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("It was not stored.", error, StringComparison.Ordinal);
        Assert.False(await pipeline.Blobs.GetBlobContainerClient(ScanContainers.Chest).GetBlobClient(name).ExistsAsync());
    }

    [Theory]
    [InlineData("../escape.png")]
    [InlineData("a//b.png")]
    [InlineData("/rooted.png")]
    [InlineData("folder/")]
    [InlineData("back\\slash.png")]
    [InlineData("bell\u0007.png")]
    [InlineData("trailing.")]
    public async Task A_name_that_storage_or_urls_would_read_differently_is_refused_with_400_without_repeating_it(string name)
    {
        using var response = await PostAsync("chest", TestImages.Uniform(9, 64, 64), name);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.StartsWith("The name must", error, StringComparison.Ordinal);
        Assert.DoesNotContain(name, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_modality_is_refused_with_400()
    {
        using var response = await PostAsync("mri", TestImages.Uniform(9, 64, 64));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("use 'chest' or 'ct'", await ErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_result_look_up_answers_400_for_a_malformed_scan_id_and_404_for_one_with_no_result()
    {
        using var malformed = await pipeline.Http.GetAsync("/api/results/not-a-scan-id");
        using var unknown = await pipeline.Http.GetAsync($"/api/results/{new string('0', 32)}");
        using var unknownImage = await pipeline.Http.GetAsync($"/api/results/{new string('0', 32)}/image");

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("may still be processing", await ErrorAsync(unknown), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownImage.StatusCode);
    }

    [Fact]
    public async Task A_scored_scans_image_is_served_with_its_media_type_until_a_newer_upload_replaces_it()
    {
        var name = $"web/{Guid.NewGuid():N}.jpg";
        var scan = TestImages.Uniform(200, 80, 80, SkiaSharp.SKEncodedImageFormat.Jpeg);
        using var posted = await PostAsync("chest", scan, name);
        var scanId = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("scanId").GetString()!;
        await WaitForResultByIdAsync(scanId);

        using (var image = await pipeline.Http.GetAsync($"/api/results/{scanId}/image"))
        {
            Assert.Equal(HttpStatusCode.OK, image.StatusCode);
            Assert.Equal("image/jpeg", image.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", image.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal(scan, await image.Content.ReadAsByteArrayAsync());
        }

        await pipeline.UploadAsync("chest", name, TestImages.Uniform(10, 80, 80));
        using var replaced = await pipeline.Http.GetAsync($"/api/results/{scanId}/image");
        Assert.Equal(HttpStatusCode.NotFound, replaced.StatusCode);
        Assert.Contains("replaced by a newer upload", await ErrorAsync(replaced), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scored_dicom_scans_image_is_served_as_a_png_of_its_pixels_never_as_the_file_with_its_header()
    {
        var spec = new DicomSpec(48, 64, [.. Enumerable.Range(0, 48 * 64).Select(i => (i % 64) * 4)])
        {
            Modality = "CT",
            WindowCenter = "128",
            WindowWidth = "256",
            SeriesInstanceUid = $"1.2.826.0.1.3680043.2.1125.7.{Random.Shared.Next()}",
        };
        var dicom = DicomWriter.Write(spec, DicomWriter.Rle);
        using var posted = await PostAsync("ct", dicom);
        var accepted = await posted.Content.ReadFromJsonAsync<JsonElement>();
        var result = await WaitForResultByIdAsync(accepted.GetProperty("scanId").GetString()!);

        using var image = await pipeline.Http.GetAsync($"/api/results/{result.ScanId}/image");
        var served = await image.Content.ReadAsByteArrayAsync();

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.EndsWith(".dcm", accepted.GetProperty("blobName").GetString(), StringComparison.Ordinal);
        Assert.Equal(new DicomUids(spec.StudyInstanceUid, spec.SeriesInstanceUid, spec.SopInstanceUid), result.Dicom);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        using var png = SkiaSharp.SKBitmap.Decode(served);
        using var pixels = new Core.Imaging.ScanDecoder().Decode(dicom);
        Assert.Equal((64, 48), (png.Width, png.Height));
        Assert.True(png.Pixels.SequenceEqual(pixels.Bitmap.Pixels), "the PNG holds other pixels than the DICOM file's");
        foreach (var header in new[] { "DICM", spec.PatientName, spec.PatientId, "19470101", spec.SeriesInstanceUid! })
        {
            Assert.Equal(-1, served.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(header)));
        }
    }

    [Fact]
    public async Task A_rejected_scans_result_is_found_by_its_id_but_its_bytes_are_never_served()
    {
        var name = $"web/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", name, "<html><script>alert(1)</script></html>"u8.ToArray());
        var rejected = await pipeline.WaitForResultAsync("chest", name);

        var byId = await WaitForResultByIdAsync(rejected.ScanId);
        using var image = await pipeline.Http.GetAsync($"/api/results/{rejected.ScanId}/image");

        Assert.Equal(ScanStatus.Rejected, byId.Status);
        Assert.Equal(rejected.Reason, byId.Reason);
        Assert.Equal(HttpStatusCode.NotFound, image.StatusCode);
        Assert.Equal("application/json", image.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Recent_results_filter_by_status_and_verdict_and_refuse_unknown_values()
    {
        // The standard chest ensemble calls bright images covid and dark ones noncovid.
        var bright = await WaitForResultByIdAsync(await PostForIdAsync(TestImages.Uniform(250, 64, 64)));
        var dark = await WaitForResultByIdAsync(await PostForIdAsync(TestImages.Uniform(5, 64, 64)));
        var name = $"web/{Guid.NewGuid():N}.png";
        await pipeline.UploadAsync("chest", name, "not an image"u8.ToArray());
        var rejected = await pipeline.WaitForResultAsync("chest", name);
        Assert.Equal(("covid", "noncovid"), (bright.Verdict, dark.Verdict));

        async Task<List<string>> ListAsync(string query) =>
            [.. (await pipeline.GetJsonAsync($"/api/scans?top=100&{query}")).GetProperty("items").EnumerateArray()
                .Select(i => i.GetProperty("scanId").GetString()!)];

        var covid = await ListAsync("verdict=covid");
        var noncovid = await ListAsync("verdict=noncovid&modality=chest");
        var rejectedOnly = await ListAsync("status=rejected");
        Assert.Contains(bright.ScanId, covid);
        Assert.DoesNotContain(dark.ScanId, covid);
        Assert.Contains(dark.ScanId, noncovid);
        Assert.DoesNotContain(bright.ScanId, noncovid);
        Assert.Contains(rejected.ScanId, rejectedOnly);
        Assert.DoesNotContain(bright.ScanId, rejectedOnly);

        using var badStatus = await pipeline.Http.GetAsync("/api/scans?status=done");
        using var badVerdict = await pipeline.Http.GetAsync("/api/scans?verdict=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badVerdict.StatusCode);
    }

    private async Task<string> PostForIdAsync(byte[] content)
    {
        using var response = await PostAsync("chest", content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("scanId").GetString()!;
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Origin", "http://evil.example")]
    public async Task An_upload_a_browser_sends_from_another_site_is_refused_and_nothing_is_stored(string header, string value)
    {
        var name = $"csrf/{Guid.NewGuid():N}.png";
        using var body = new ByteArrayContent(TestImages.Uniform(90, 64, 64));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/scans/chest?name={Uri.EscapeDataString(name)}") { Content = body };
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await pipeline.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(await pipeline.Blobs.GetBlobContainerClient(ScanContainers.Chest).GetBlobClient(name).ExistsAsync());
    }

    [Fact]
    public async Task An_upload_from_the_sites_own_page_is_taken()
    {
        using var body = new ByteArrayContent(TestImages.Uniform(91, 64, 64));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/scans/chest") { Content = body };
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        request.Headers.TryAddWithoutValidation("Origin", pipeline.Http.BaseAddress!.GetLeftPart(UriPartial.Authority));

        using var response = await pipeline.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<HttpResponseMessage> PostAsync(string modality, byte[] content, string? name = null, bool declaresLength = true)
    {
        HttpContent body = declaresLength
            ? new ByteArrayContent(content)
            : new StreamContent(new UnseekableStream(content)); // no length: the client sends it chunked
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var url = $"/api/scans/{modality}" + (name is null ? "" : $"?name={Uri.EscapeDataString(name)}");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = body };
        return await pipeline.Http.SendAsync(request);
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;

    /// <summary>Polls GET /api/results/{scanId} until it answers 200.</summary>
    private async Task<ScanResult> WaitForResultByIdAsync(string scanId, int timeoutSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await pipeline.Http.GetAsync($"/api/results/{scanId}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (await response.Content.ReadFromJsonAsync<ScanResult>(ScanResult.JsonOptions))!;
            }

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            await Task.Delay(250);
        }

        throw new TimeoutException($"No result for scan {scanId} within {timeoutSeconds} s.");
    }

    /// <summary>A stream that cannot tell its length, so HttpClient sends it with chunked transfer encoding.</summary>
    private sealed class UnseekableStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}
