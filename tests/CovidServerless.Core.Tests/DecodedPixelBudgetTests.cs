using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

/// <summary>Decoded pixels in flight are capped across the process, so that many large scans at once cannot exhaust memory.</summary>
public sealed class DecodedPixelBudgetTests
{
    private static ScanDecoder Decoder(long budget, int waitSeconds, long maxPixels = 100 * 100) => new(Options.Create(new ImageLimitsOptions
    {
        MaxPixels = maxPixels,
        MaxDecodedPixelsInFlight = budget,
        DecodeWaitSeconds = waitSeconds,
    }));

    [Fact]
    public void A_scan_that_does_not_fit_the_budget_is_refused_for_now_and_decodes_once_the_scan_holding_it_is_disposed()
    {
        var decoder = Decoder(budget: 100 * 100, waitSeconds: 0);
        var image = TestImages.Uniform(90, 100, 100);

        var first = decoder.Decode(image);
        var refused = Assert.Throws<ScoringUnavailableException>(() => decoder.Decode(image));
        Assert.Equal(100 * 100, decoder.Budget.InFlight);
        first.Dispose();
        using var second = decoder.Decode(image);

        Assert.Contains("Images:MaxDecodedPixelsInFlight", refused.Message, StringComparison.Ordinal);
        Assert.Equal(100 * 100, decoder.Budget.InFlight);
    }

    [Fact]
    public async Task A_waiting_decode_goes_ahead_as_soon_as_the_pixels_it_needs_are_given_back()
    {
        var decoder = Decoder(budget: 150 * 100, waitSeconds: 600);
        var image = TestImages.Uniform(90, 100, 100);
        var first = decoder.Decode(image);

        var waiting = decoder.DecodeAsync(image, null, CancellationToken.None);
        Assert.False(waiting.IsCompleted); // 2 x 10,000 pixels cannot fit in 15,000 while the first is held
        first.Dispose();
        using var second = await waiting;

        Assert.Equal((100, 100), (second.Width, second.Height));
        Assert.Equal(100 * 100, decoder.Budget.Peak);
    }

    [Fact]
    public void Pixels_go_back_to_the_budget_when_decoding_fails_half_way()
    {
        var decoder = Decoder(budget: 100 * 100, waitSeconds: 0);

        Assert.Throws<ScanRejectedException>(() => decoder.Decode(TestImages.Truncated(TestImages.Noise(100, 100, SKEncodedImageFormat.Png))));

        Assert.Equal(0, decoder.Budget.InFlight);
        using var next = decoder.Decode(TestImages.Uniform(90, 100, 100));
    }

    [Fact]
    public void An_image_that_exif_turns_reserves_room_for_its_turned_copy_too()
    {
        var decoder = Decoder(budget: 80 * 40, waitSeconds: 0);
        var upright = TestImages.WithExifOrientation(TestImages.LeftWhiteRightBlack(80, 40, SKEncodedImageFormat.Jpeg), 1);
        var turned = TestImages.WithExifOrientation(TestImages.LeftWhiteRightBlack(80, 40, SKEncodedImageFormat.Jpeg), 6);

        using (decoder.Decode(upright))
        {
        }

        var rejected = Assert.Throws<ScanRejectedException>(() => decoder.Decode(turned));
        Assert.Equal(ScanProblem.TooLarge, rejected.Problem);
        Assert.Equal(80 * 40, decoder.Budget.Peak);
    }

    [Fact]
    public async Task Sixty_four_decompression_bombs_at_once_are_all_rejected_before_a_single_pixel_is_reserved()
    {
        var limits = new ImageLimitsOptions();
        limits.Dicom.MaxInflatedBytes = 1_000_000;
        var decoder = new ScanDecoder(Options.Create(limits));
        byte[][] kinds =
        [
            TestImages.PngDeclaring(60_000, 60_000), // over the side limit
            TestImages.PngDeclaring(8_000, 8_000), // 64 MP, over MaxPixels
            TestImages.JpegDeclaring(65_000, 65_000),
            TestImages.JpegDeclaring(6_000, 6_000),
            DicomWriter.Write(new DicomSpec(11_000, 11_000, []), DicomWriter.ExplicitLittle),
            DicomWriter.Write(new DicomSpec(1_000, 1_000, []) { Frames = 40 }, DicomWriter.ExplicitLittle),
            DicomWriter.Write(new DicomSpec(1_100, 1_000, new int[1_100_000]), DicomWriter.Deflated), // inflates past 1 MB
            DicomWriter.Write(new DicomSpec(11_000, 11_000, []), DicomWriter.Deflated),
        ];

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            try
            {
                using var scan = await decoder.DecodeAsync(kinds[i % kinds.Length], null, CancellationToken.None);
                return "decoded";
            }
            catch (ScanRejectedException)
            {
                return "rejected";
            }
        })));

        Assert.All(outcomes, outcome => Assert.Equal("rejected", outcome));
        Assert.Equal(0, decoder.Budget.Peak);
    }

    [Fact]
    public async Task Sixty_four_maximum_size_bombs_at_once_all_decode_and_never_hold_more_pixels_than_the_budget()
    {
        const int side = 1_024;
        var decoder = Decoder(budget: 3L * side * side, waitSeconds: 600, maxPixels: (long)side * side);
        var bomb = TestImages.BlackPngBomb(side, side);

        var sizes = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            using var scan = await decoder.DecodeAsync(bomb, null, CancellationToken.None);
            return (scan.Width, scan.Height);
        })));

        Assert.All(sizes, size => Assert.Equal((side, side), size));
        Assert.InRange(decoder.Budget.Peak, side * side, 3L * side * side);
        Assert.Equal(0, decoder.Budget.InFlight);
        Assert.True(bomb.Length < 10_000, $"the bomb is {bomb.Length} bytes");
    }

    [Theory]
    [InlineData("Images:MaxDecodedPixelsInFlight", "1000")]
    [InlineData("Images:DecodeWaitSeconds", "-1")]
    public void A_budget_that_could_never_hold_the_largest_image_allowed_stops_the_host_at_start(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        using var services = new ServiceCollection().AddCovidScoring(configuration).BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ImageLimitsOptions>>().Value);
    }
}
