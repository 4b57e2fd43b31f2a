using CovidServerless.Core.Imaging;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

/// <summary>The models were trained on Skia's resized pixels, so the faster resampler must give exactly those bytes.</summary>
public class MipmapResamplerTests
{
    [Theory]
    [InlineData(512, 512, 224, 224)] // chest scans: one blend of the scan and its first mipmap level
    [InlineData(512, 421, 224, 224)] // odd height: SkMipmap's 1-2-1 filter
    [InlineData(449, 317, 224, 224)]
    [InlineData(1000, 700, 224, 224)] // two levels down
    [InlineData(3000, 2999, 112, 112)] // several levels down
    [InlineData(2000, 300, 224, 224)] // the smaller scale decides the level
    [InlineData(2048, 1536, 299, 299)]
    [InlineData(640, 480, 32, 16)]
    [InlineData(1000, 999, 223, 101)] // odd output width: pixels go two at a time where the CPU allows, the last alone
    public void Downscales_give_skias_own_pixels_byte_for_byte(int width, int height, int targetWidth, int targetHeight)
    {
        using var source = NoiseBitmap(width, height, seed: width + height);

        var resampled = new byte[targetWidth * targetHeight * 4];
        var resampledHere = MipmapResampler.TryResize(source, targetWidth, targetHeight, resampled);

        Assert.True(resampledHere);
        using var skia = ImagePreprocessor.Resize(source, targetWidth, targetHeight);
        Assert.Equal(skia.GetPixelSpan().ToArray(), resampled);
    }

    [Theory]
    [InlineData(512, 512, 224, 224)]
    [InlineData(1000, 999, 223, 101)]
    [InlineData(2048, 1536, 299, 299)]
    public void Each_pixel_alone_as_on_cpus_without_256_bit_vectors_gives_skias_pixels_too(int width, int height, int targetWidth, int targetHeight)
    {
        using var source = NoiseBitmap(width, height, seed: width * height);

        var resampled = new byte[targetWidth * targetHeight * 4];
        Assert.True(MipmapResampler.TryResize(source, targetWidth, targetHeight, resampled, twoPixelsAtATime: false));

        using var skia = ImagePreprocessor.Resize(source, targetWidth, targetHeight);
        Assert.Equal(skia.GetPixelSpan().ToArray(), resampled);
    }

    [Fact]
    public void Translucent_scans_premultiplied_by_the_decoder_give_skias_pixels_too()
    {
        using var source = NoiseBitmap(512, 421, seed: 5, translucent: true);

        var resampled = new byte[224 * 224 * 4];
        Assert.True(MipmapResampler.TryResize(source, 224, 224, resampled));

        using var skia = ImagePreprocessor.Resize(source, 224, 224);
        Assert.Equal(skia.GetPixelSpan().ToArray(), resampled);
    }

    [Theory]
    [InlineData(100, 100)] // upscaling
    [InlineData(300, 300)] // 0.75x: Skia samples the scan alone, no mipmap blend
    [InlineData(224, 224)]
    public void Sizes_where_skia_blends_no_mipmap_levels_are_left_to_skia(int width, int height)
    {
        using var source = NoiseBitmap(width, height, seed: 3);

        Assert.False(MipmapResampler.TryResize(source, 224, 224, new byte[224 * 224 * 4]));
    }

    [SkippableFact]
    public void Real_scans_are_resized_exactly_as_skia_resizes_them()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var decoder = new ScanDecoder();
        var files = Directory.EnumerateFiles(RepoPaths.SharedData!, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Where((_, i) => i % 25 == 0)
            .ToList();
        var compared = 0;
        foreach (var file in files)
        {
            using var scan = decoder.Decode(File.ReadAllBytes(file));
            var resampled = new byte[224 * 224 * 4];
            if (!MipmapResampler.TryResize(scan.Bitmap, 224, 224, resampled))
            {
                continue; // small enough for Skia's own fast path
            }

            using var skia = ImagePreprocessor.Resize(scan.Bitmap, 224, 224);
            Assert.True(skia.GetPixelSpan().SequenceEqual(resampled), $"{Path.GetFileName(file)} ({scan.Bitmap.Width}x{scan.Bitmap.Height}) differs from Skia's resize");
            compared++;
        }

        Assert.True(compared > files.Count / 2, $"only {compared} of {files.Count} scans went through the resampler"); // 35 of the 40 here: those over 316 px on their longer side
    }

    /// <summary>Colour noise, so every channel and every texel weight matters; opaque, or premultiplied by a random alpha.</summary>
    private static SKBitmap NoiseBitmap(int width, int height, int seed, bool translucent = false)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 4];
        random.NextBytes(pixels);
        for (var i = 0; i < pixels.Length; i += 4)
        {
            var alpha = translucent ? random.Next(256) : 255;
            for (var c = 0; c < 3; c++)
            {
                pixels[i + c] = (byte)(pixels[i + c] * alpha / 255);
            }

            pixels[i + 3] = (byte)alpha;
        }

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }
}
