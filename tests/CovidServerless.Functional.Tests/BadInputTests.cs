using CovidServerless.Core.Results;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Functional.Tests;

[Collection(LocalPipelineCollection.Name)]
public sealed class BadInputTests(LocalPipeline pipeline)
{
    public static TheoryData<string, byte[], string> BadScans() => new()
    {
        { "empty.png", [], "empty" },
        { "random.jpg", RandomBytes(3000, 1), "not a readable image" },
        { "notes.png", "Patient notes, not an image."u8.ToArray(), "not a readable image" },
        { "cut.jpg", TestImages.Truncated(TestImages.Noise(300, 300, SKEncodedImageFormat.Jpeg)), "truncated" },
        { "cut.png", TestImages.Truncated(TestImages.Noise(300, 300, SKEncodedImageFormat.Png)), "truncated" },
        { "bomb.png", TestImages.PngDeclaring(60_000, 60_000), "60000x60000" },
        { "dot.png", TestImages.Uniform(9, 1, 1), "1x1" },
        { "icon.ico", TestImages.Ico(), "Unsupported image format" },
        { "huge.bin", RandomBytes((int)LocalPipeline.MaxBytes + 1, 2), "over the" },
    };

    [Theory]
    [MemberData(nameof(BadScans))]
    public async Task Bad_input_ends_as_a_rejected_result_with_its_reason_and_a_message(string name, byte[] content, string reason)
    {
        var blobName = $"bad/{name}";

        await pipeline.UploadAsync("chest", blobName, content);
        var result = await pipeline.WaitForResultAsync("chest", blobName);

        Assert.Equal(ScanStatus.Rejected, result.Status);
        Assert.Contains(reason, result.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Null(result.Verdict);
        Assert.Single(await pipeline.Storage.RowsForBlobAsync(Core.Modality.Chest, blobName));
        Assert.Contains(await pipeline.Storage.ResultMessagesAsync(), m => m.ScanId == result.ScanId && m.Status == ScanStatus.Rejected);
        Assert.True((await pipeline.Http.GetAsync("/api/health")).IsSuccessStatusCode, "the host keeps serving");
    }

    private static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
