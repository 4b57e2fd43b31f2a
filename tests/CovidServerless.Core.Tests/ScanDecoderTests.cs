using CovidServerless.Core.Imaging;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

public class ScanDecoderTests
{
    private readonly ScanDecoder decoder = new();

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "png")]
    [InlineData(SKEncodedImageFormat.Jpeg, "jpeg")]
    [InlineData(SKEncodedImageFormat.Webp, "webp")]
    public void Decodes_skia_encodable_formats_to_their_pixels(SKEncodedImageFormat format, string expected)
    {
        using var scan = decoder.Decode(TestImages.Uniform(200, 80, 60, format));

        Assert.Equal(expected, scan.Format);
        Assert.Equal((80, 60), (scan.Width, scan.Height));
        Assert.InRange(scan.Bitmap.GetPixel(40, 30).Red, 197, 203);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void A_decoded_scan_is_read_only_so_that_preprocessing_reads_its_pixels_without_copying_them(ushort orientation)
    {
        var jpeg = TestImages.WithExifOrientation(TestImages.LeftWhiteRightBlack(80, 40, SKEncodedImageFormat.Jpeg), orientation);
        using var scan = decoder.Decode(jpeg);

        using var image = SKImage.FromBitmap(scan.Bitmap);

        Assert.True(scan.Bitmap.IsImmutable);
        Assert.Equal(scan.Bitmap.GetPixels(), image.PeekPixels().GetPixels());
    }

    [Fact]
    public void Decodes_bmp()
    {
        using var scan = decoder.Decode(TestImages.Bmp(50, 40, 77));

        Assert.Equal("bmp", scan.Format);
        Assert.Equal(new SKColor(77, 77, 77), scan.Bitmap.GetPixel(10, 10));
    }

    [Fact]
    public void Decodes_only_the_first_frame_of_an_animated_gif()
    {
        using var scan = decoder.Decode(TestImages.TwoFrameGif(40, 40, first: 30, second: 220));

        Assert.Equal("gif", scan.Format);
        Assert.Equal(new SKColor(30, 30, 30), scan.Bitmap.GetPixel(20, 20));
    }

    [Fact]
    public void Reduces_16_bit_greyscale_to_8_bit_rgb()
    {
        using var scan = decoder.Decode(TestImages.Png16BitGrey(48, 48, 0x8080));

        var pixel = scan.Bitmap.GetPixel(5, 5);
        Assert.Equal((128, 128, 128), (pixel.Red, pixel.Green, pixel.Blue));
    }

    [Fact]
    public void Composites_transparency_over_black()
    {
        var png = TestImages.Encode(40, 40, (_, _) => new SKColor(255, 255, 255, 0), SKEncodedImageFormat.Png);

        using var scan = decoder.Decode(png);

        Assert.Equal(0, scan.Bitmap.GetPixel(20, 20).Red);
    }

    [Theory]
    [InlineData(1, 80, 40, 255)] // upright: white stays on the left
    [InlineData(2, 80, 40, 0)] // mirrored: white moves right
    [InlineData(3, 80, 40, 0)] // rotated 180
    [InlineData(6, 40, 80, 255)] // rotated 90 clockwise: the left half becomes the top
    [InlineData(8, 40, 80, 0)] // rotated 90 anticlockwise: the left half becomes the bottom
    public void Honours_exif_orientation(ushort orientation, int uprightWidth, int uprightHeight, byte topLeftRed)
    {
        var jpeg = TestImages.WithExifOrientation(TestImages.LeftWhiteRightBlack(80, 40, SKEncodedImageFormat.Jpeg), orientation);

        using var scan = decoder.Decode(jpeg);

        Assert.Equal((uprightWidth, uprightHeight), (scan.Width, scan.Height));
        Assert.InRange(scan.Bitmap.GetPixel(2, 2).Red, topLeftRed - 20, topLeftRed + 20);
    }

    public static TheoryData<string, byte[], string> BadFiles => new()
    {
        { "zero bytes", [], "empty" },
        { "random bytes", RandomBytes(4096), "not a readable image" },
        { "text named .png", "patient: not an image\n"u8.ToArray(), "not a readable image" },
        { "truncated jpeg", TestImages.Truncated(TestImages.Noise(256, 256, SKEncodedImageFormat.Jpeg)), "truncated" },
        { "truncated png", TestImages.Truncated(TestImages.Noise(256, 256, SKEncodedImageFormat.Png)), "truncated" },
        { "jpeg damaged in the middle", DamagedInTheMiddle(TestImages.Noise(256, 256, SKEncodedImageFormat.Jpeg)), "corrupt" },
        { "60000x60000 header", TestImages.PngDeclaring(60_000, 60_000), "60000x60000 pixels, over the limit of 12000 pixels a side" },
        { "11000x11000 header", TestImages.PngDeclaring(11_000, 11_000), "11000x11000 pixels, 121,000,000 in all, over the limit of 33,554,432" },
        { "1x1 image", TestImages.Uniform(128, 1, 1), "only 1x1 pixels" },
        { "ico format", TestImages.Ico(), "Unsupported image format ICO" },
    };

    [Theory]
    [InlineData("not an image\n")]
    [InlineData("%PDF-1.7")]
    public void A_file_too_short_for_any_format_is_not_called_a_truncated_image(string text)
    {
        var ex = Assert.Throws<ScanRejectedException>(() => decoder.Decode(System.Text.Encoding.ASCII.GetBytes(text)));

        Assert.Contains("not a readable image", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_png_cut_inside_its_header_is_called_truncated()
    {
        var ex = Assert.Throws<ScanRejectedException>(() => decoder.Decode(TestImages.Uniform(128).AsSpan(0, 12)));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Rejects_bad_input_with_a_specific_reason(string kind, byte[] file, string reasonContains)
    {
        var ex = Assert.Throws<ScanRejectedException>(() => decoder.Decode(file));

        Assert.True(ex.Message.Contains(reasonContains, StringComparison.OrdinalIgnoreCase), $"{kind}: \"{ex.Message}\" lacks \"{reasonContains}\"");
    }

    [Theory]
    [InlineData("zero bytes")]
    [InlineData("random bytes")]
    [InlineData("text named .png")]
    [InlineData("jpeg damaged in the middle")]
    [InlineData("60000x60000 header")]
    [InlineData("11000x11000 header")]
    [InlineData("1x1 image")]
    [InlineData("ico format")]
    public void Validation_without_decoding_rejects_what_the_header_or_structure_gives_away_with_the_decoders_reason(string kind)
    {
        var file = BadFiles.Single(row => (string)row[0] == kind);

        var validated = Assert.Throws<ScanRejectedException>(() => decoder.Validate((byte[])file[1]));
        var decoded = Assert.Throws<ScanRejectedException>(() => decoder.Decode((byte[])file[1]));

        Assert.Equal(decoded.Message, validated.Message);
    }

    [Fact]
    public void Validation_passes_a_readable_scan()
    {
        decoder.Validate(TestImages.Noise(256, 256, SKEncodedImageFormat.Jpeg));
        decoder.Validate(TestImages.Uniform(128));
    }

    [Fact]
    public void Rejects_files_over_the_configured_byte_limit()
    {
        var small = new ScanDecoder(Microsoft.Extensions.Options.Options.Create(new ImageLimitsOptions { MaxBytes = 100 }));

        var ex = Assert.Throws<ScanRejectedException>(() => small.Decode(TestImages.Noise(64, 64, SKEncodedImageFormat.Png)));

        Assert.Contains("over the 100-byte limit", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Every_jpeg_of_the_shared_data_passes_the_corruption_check()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var jpegs = Directory.EnumerateFiles(RepoPaths.SharedData!, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .ToList();

        var refused = jpegs.Where(f => JpegStructure.InvalidMarkerInScanData(File.ReadAllBytes(f)) is not null).Select(Path.GetFileName).ToList();

        Assert.True(jpegs.Count > 100, $"{jpegs.Count} JPEGs found");
        Assert.Empty(refused);
    }

    /// <summary>A quarter of the file's bytes, from its middle on, overwritten with noise: a copy damaged in transit.</summary>
    private static byte[] DamagedInTheMiddle(byte[] jpeg)
    {
        var damaged = (byte[])jpeg.Clone();
        new Random(7).NextBytes(damaged.AsSpan(jpeg.Length / 2, jpeg.Length / 4));
        return damaged;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(42).NextBytes(bytes);
        return bytes;
    }
}
