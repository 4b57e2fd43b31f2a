using CovidServerless.Core.Api;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

/// <summary>The checks an upload gets before it is stored: blob names, and the decoder's verdict by kind.</summary>
public sealed class ScanUploadRulesTests
{
    [Theory]
    [InlineData("scan.png")]
    [InlineData("patient 7/day 2/slice-004.jpg")]
    [InlineData("a.b/c..d.png")]
    public void Ordinary_names_and_folder_paths_are_accepted(string name) => Assert.Null(ScanUploadApi.NameProblem(name));

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("../up.png", "'..'")]
    [InlineData("./here.png", "'.'")]
    [InlineData("a//b.png", "'//'")]
    [InlineData("/a.png", "begin or end with '/'")]
    [InlineData("a/", "begin or end with '/'")]
    [InlineData("a\\b.png", "'\\'")]
    [InlineData("tab\t.png", "control characters")]
    [InlineData("dot.", "end with '.'")]
    public void Names_that_storage_or_urls_would_read_differently_are_refused_with_a_reason(string name, string reason) =>
        Assert.Contains(reason, ScanUploadApi.NameProblem(name), StringComparison.Ordinal);

    [Fact]
    public void Names_over_blob_storages_limits_are_refused()
    {
        Assert.Contains("at most 1024", ScanUploadApi.NameProblem(new string('a', 1025)), StringComparison.Ordinal);
        Assert.Contains("at most 254", ScanUploadApi.NameProblem(new string('a', 255) + "/b.png"), StringComparison.Ordinal);
        Assert.Null(ScanUploadApi.NameProblem(string.Join('/', Enumerable.Repeat(new string('a', 254), 4))));
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "png", "image/png")]
    [InlineData(SKEncodedImageFormat.Jpeg, "jpeg", "image/jpeg")]
    [InlineData(SKEncodedImageFormat.Webp, "webp", "image/webp")]
    public void Validation_names_the_format_an_upload_is_stored_and_served_as(SKEncodedImageFormat encoded, string format, string mediaType)
    {
        var found = new ScanDecoder().Validate(TestImages.Uniform(100, 64, 64, encoded));

        Assert.Equal((format, mediaType), (found, ScanDecoder.MediaType(found)));
    }

    public static TheoryData<byte[], ScanProblem> Problems() => new()
    {
        { new byte[2049], ScanProblem.TooLarge },
        { "plain text"u8.ToArray(), ScanProblem.NotAnImage },
        { TestImages.Ico(), ScanProblem.NotAnImage },
        { [], ScanProblem.Invalid },
        { TestImages.Uniform(9, 8, 8), ScanProblem.Invalid },
        { TestImages.Uniform(9, 300, 300)[..20], ScanProblem.Invalid }, // cut inside the header: truncated, not "not an image"
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void A_rejected_file_says_which_kind_of_problem_it_has(byte[] file, ScanProblem problem)
    {
        var decoder = new ScanDecoder(Options.Create(new ImageLimitsOptions { MaxBytes = 2048 }));

        Assert.Equal(problem, Assert.Throws<ScanRejectedException>(() => decoder.Validate(file)).Problem);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF", false)]
    [InlineData("0123456789abcdef0123456789abcde", false)]
    [InlineData("0123456789abcdef0123456789abcdeg", false)]
    [InlineData("../../../../../../../../etc/pass", false)]
    public void Only_32_lower_case_hex_digits_are_a_scan_id(string text, bool isScanId) =>
        Assert.Equal(isScanId, ScanIdentity.IsScanId(text));
}
