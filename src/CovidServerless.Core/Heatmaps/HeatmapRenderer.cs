using SkiaSharp;

namespace CovidServerless.Core.Heatmaps;

/// <summary>
/// Draws a class-activation map over its scan as a PNG: red where a location pushes toward COVID, blue where it pushes
/// away, opacity growing with the contribution (scaled to the map's largest absolute value, so weak maps show up too;
/// the sign is never flipped). The map is resized to the image, as preprocessing stretched the scan to the model's input.
/// </summary>
public static class HeatmapRenderer
{
    /// <summary>Opacity of the strongest location; the scan stays visible under it.</summary>
    public const float MaxAlpha = 0.6f;

    private static readonly (float R, float G, float B) TowardCovid = (230, 30, 20);
    private static readonly (float R, float G, float B) AwayFromCovid = (20, 90, 240);

    /// <summary>The overlay as PNG bytes, at the scan's size.</summary>
    public static byte[] RenderPng(SKBitmap scan, CamMap map)
    {
        using var overlay = Render(scan, map);
        using var data = overlay.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("PNG encoding failed.");
        return data.ToArray();
    }

    /// <summary>The overlay as an opaque RGBA bitmap at the scan's size (the caller disposes it).</summary>
    public static SKBitmap Render(SKBitmap scan, CamMap map)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(map);
        int width = scan.Width, height = scan.Height;
        var heat = map.Width == width && map.Height == height ? map : map.Resize(width, height);
        var scale = heat.Values.Max(MathF.Abs);

        var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        try
        {
            using (var canvas = new SKCanvas(target))
            using (var image = SKImage.FromBitmap(scan))
            {
                canvas.Clear(SKColors.Black);
                canvas.DrawImage(image, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Nearest));
            }

            var pixels = target.GetPixelSpan();
            if (scale > 0 && float.IsFinite(scale))
            {
                Blend(pixels, heat.Values, 1 / scale);
            }

            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    private static void Blend(Span<byte> rgba, float[] heat, float inverseScale)
    {
        for (var i = 0; i < heat.Length; i++)
        {
            var v = heat[i] * inverseScale;
            var (r, g, b) = v >= 0 ? TowardCovid : AwayFromCovid;
            var alpha = MaxAlpha * Math.Min(MathF.Abs(v), 1f);
            var p = rgba.Slice(i * 4, 4);
            p[0] = (byte)((p[0] * (1 - alpha)) + (r * alpha) + 0.5f);
            p[1] = (byte)((p[1] * (1 - alpha)) + (g * alpha) + 0.5f);
            p[2] = (byte)((p[2] * (1 - alpha)) + (b * alpha) + 0.5f);
            p[3] = 255;
        }
    }
}
