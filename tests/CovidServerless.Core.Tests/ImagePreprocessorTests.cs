using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

public class ImagePreprocessorTests
{
    private readonly ScanDecoder decoder = new();

    [Fact]
    public void The_pooled_pixel_buffers_hold_no_pixels_once_a_scan_is_preprocessed()
    {
        using var scan = decoder.Decode(TestImages.Uniform(120, 1000, 1000));

        ImagePreprocessor.ToTensor(scan, new ModelInputSpec()); // the mipmap path: a 224x224 buffer and two levels

        // The pool hands this thread back the buffer it returned last (its thread-local slot) for each size bucket.
        foreach (var size in new[] { 224 * 224 * 4, 500 * 500 * 4 })
        {
            var reused = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
            try
            {
                Assert.True(reused.AsSpan().IndexOfAnyExcept((byte)0) < 0, $"a pooled buffer of {reused.Length:N0} bytes still held pixels");
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(reused, clearArray: true);
            }
        }
    }

    [Fact]
    public void Seed_contract_gives_nhwc_rgb_scaled_by_1_over_255()
    {
        var png = TestImages.Encode(300, 200, (_, _) => new SKColor(255, 128, 0), SKEncodedImageFormat.Png);
        using var scan = decoder.Decode(png);

        var tensor = ImagePreprocessor.ToTensor(scan, new ModelInputSpec());

        Assert.Equal(224 * 224 * 3, tensor.Length);
        Assert.Equal(1f, tensor[0], 3);
        Assert.Equal(128f / 255f, tensor[1], 3);
        Assert.Equal(0f, tensor[2], 3);
    }

    [Fact]
    public void Nchw_bgr_with_mean_and_std_follows_the_manifest()
    {
        var png = TestImages.Encode(64, 64, (_, _) => new SKColor(255, 128, 0), SKEncodedImageFormat.Png);
        using var scan = decoder.Decode(png);
        var spec = new ModelInputSpec
        {
            Layout = TensorLayout.NCHW,
            Width = 32,
            Height = 16,
            ChannelOrder = "BGR",
            Mean = [0.5f, 0.5f, 0.5f],
            Std = [0.5f, 0.5f, 0.5f],
        };

        var tensor = ImagePreprocessor.ToTensor(scan, spec);

        var plane = 32 * 16;
        Assert.Equal(3 * plane, tensor.Length);
        Assert.Equal(-1f, tensor[0], 3); // blue plane first: (0 - 0.5) / 0.5
        Assert.Equal(((128f / 255f) - 0.5f) / 0.5f, tensor[plane + 7], 3);
        Assert.Equal(1f, tensor[(2 * plane) + 100], 3); // red plane last
    }

    [Fact]
    public void Single_grey_channel_uses_luma()
    {
        using var scan = decoder.Decode(TestImages.Uniform(90));

        var tensor = ImagePreprocessor.ToTensor(scan, new ModelInputSpec { ChannelOrder = "L", Mean = [0f], Std = [1f] });

        Assert.Equal(224 * 224, tensor.Length);
        Assert.All(tensor.Take(50), v => Assert.Equal(90f / 255f, v, 2));
    }

    [Fact]
    public void Luma_weighs_red_green_and_blue_as_bt601_does()
    {
        var png = TestImages.Encode(300, 200, (_, _) => new SKColor(200, 100, 50), SKEncodedImageFormat.Png);
        using var scan = decoder.Decode(png);

        var tensor = ImagePreprocessor.ToTensor(scan, new ModelInputSpec { ChannelOrder = "L", Mean = [0f], Std = [1f] });

        Assert.All(tensor.Take(50), v => Assert.Equal(((0.299f * 200) + (0.587f * 100) + (0.114f * 50)) / 255f, v, 4));
    }

    [Fact]
    public void Resizing_stretches_to_the_exact_input_size_keeping_content_in_place()
    {
        using var scan = decoder.Decode(TestImages.LeftWhiteRightBlack(400, 100));

        var tensor = ImagePreprocessor.ToTensor(scan, new ModelInputSpec());

        Assert.Equal(1f, tensor[((100 * 224) + 10) * 3], 2);
        Assert.Equal(0f, tensor[((100 * 224) + 200) * 3], 2);
    }
}
