using CovidServerless.Core;
using CovidServerless.TestSupport;
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

        return [.. Enumerable.Range(0, count).Select(i => TestImages.Noise(512, 512, SKEncodedImageFormat.Png, seed: i))];
    }
}
