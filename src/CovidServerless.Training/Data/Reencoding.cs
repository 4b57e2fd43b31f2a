using SkiaSharp;

namespace CovidServerless.Training.Data;

/// <summary>Re-encodes images with SkiaSharp: for the JPEG augmentation and for the file-format check of the reports.</summary>
internal static class Reencoding
{
    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>An opaque RGBA bitmap of a seed-contract image (RGB floats in 0..1, row-major).</summary>
    public static SKBitmap ToBitmap(ReadOnlySpan<float> rgb, int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var bytes = new byte[width * height * 4];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            bytes[q] = ToByte(rgb[p]);
            bytes[q + 1] = ToByte(rgb[p + 1]);
            bytes[q + 2] = ToByte(rgb[p + 2]);
            bytes[q + 3] = 255;
        }

        System.Runtime.InteropServices.Marshal.Copy(bytes, 0, bitmap.GetPixels(), bytes.Length);
        return bitmap;
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0f, 255f);
}
