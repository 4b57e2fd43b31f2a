using System.Buffers;
using CovidServerless.Core.Models;
using SkiaSharp;

namespace CovidServerless.Core.Imaging;

/// <summary>
/// The project's one preprocessing path: resizes a decoded scan to a model's declared input (stretched to the
/// exact size, as the seed's Keras loader did) and writes it into a float tensor in the declared layout,
/// channel order and scaling. Serving, evaluation and training all go through here.
/// </summary>
public static class ImagePreprocessor
{
    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>Allocates and fills one image's tensor (without the batch dimension).</summary>
    public static float[] ToTensor(DecodedScan scan, ModelInputSpec spec)
    {
        var tensor = new float[spec.ElementsPerImage];
        Fill(scan, spec, tensor);
        return tensor;
    }

    /// <summary>Fills <paramref name="destination"/> (exactly one image's elements) from the scan.</summary>
    public static void Fill(DecodedScan scan, ModelInputSpec spec, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(scan);
        var length = spec.Width * spec.Height * 4;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            // Skia's own pixels, computed faster where it would blend two mipmap levels (MipmapResampler).
            var pixels = rented.AsSpan(0, length);
            if (MipmapResampler.TryResize(scan.Bitmap, spec.Width, spec.Height, pixels))
            {
                Fill(pixels, spec, destination);
                return;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true); // patient pixels do not outlive the call in the pool
        }

        using var resized = Resize(scan.Bitmap, spec.Width, spec.Height);
        Fill(resized.GetPixelSpan(), spec, destination);
    }

    /// <summary>Skia's resize, which <see cref="MipmapResampler"/> reproduces where it blends mipmap levels.</summary>
    internal static SKBitmap Resize(SKBitmap source, int width, int height)
    {
        if (source.Width == width && source.Height == height)
        {
            return source.Copy();
        }

        using var image = SKImage.FromBitmap(source);
        var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(target);
        canvas.DrawImage(image, new SKRect(0, 0, width, height), Sampling);
        return target;
    }

    /// <summary>Writes RGBA8888 pixels (already at the model's size) into the tensor.</summary>
    internal static void Fill(ReadOnlySpan<byte> rgba, ModelInputSpec spec, Span<float> destination)
    {
        int pixels = spec.Width * spec.Height, channels = spec.Channels;
        if (destination.Length != pixels * channels)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; the spec needs {pixels * channels}.", nameof(destination));
        }

        // One channel at a time, so that the inner loops carry no per-value choice of source or layout.
        var order = spec.ChannelOrder.ToUpperInvariant();
        var channelsLast = spec.Layout == TensorLayout.NHWC;
        for (var c = 0; c < channels; c++)
        {
            float gain = spec.Scale / spec.Std[c];
            float offset = -spec.Mean[c] / spec.Std[c];
            var (start, stride) = channelsLast ? (c, channels) : (c * pixels, 1);
            var source = order[c] switch { 'R' => 0, 'G' => 1, 'B' => 2, _ => -1 };
            if (source >= 0)
            {
                for (int i = 0, at = start; i < pixels; i++, at += stride)
                {
                    float value = rgba[(i * 4) + source];
                    destination[at] = (value * gain) + offset;
                }
            }
            else
            {
                for (int i = 0, at = start; i < pixels; i++, at += stride)
                {
                    var px = rgba.Slice(i * 4, 3);
                    var value = (0.299f * px[0]) + (0.587f * px[1]) + (0.114f * px[2]);
                    destination[at] = (value * gain) + offset;
                }
            }
        }
    }
}
