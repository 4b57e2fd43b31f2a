using CovidServerless.Core;
using SkiaSharp;

namespace CovidServerless.Benchmarks;

/// <summary>Encoded scans to benchmark with: real validation images (half of each label) where ../shared/data exists, else generated ones.</summary>
public static class Samples
{
    private static readonly string[] Labels = ["covid", "noncovid"];

    public static IReadOnlyList<byte[]> For(Modality modality, string? dataFolder, int count)
    {
        if (dataFolder is not null)
        {
            var files = Labels
                .SelectMany(label => Directory.EnumerateFiles(Path.Combine(dataFolder, modality.ToName(), "val", label)).Order(StringComparer.Ordinal).Take((count + 1) / 2))
                .Take(count)
                .ToList();
            if (files.Count > 0)
            {
                return [.. files.Select(File.ReadAllBytes)];
            }
        }

        return [.. Enumerable.Range(0, count).Select(Noise)];
    }

    /// <summary>A 512x512 grey PNG of random pixels, seeded so that every run scores the same bytes.</summary>
    private static byte[] Noise(int seed)
    {
        const int Size = 512;
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                var v = (byte)random.Next(256);
                bitmap.SetPixel(x, y, new SKColor(v, v, v));
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 95);
        return data.ToArray();
    }
}
