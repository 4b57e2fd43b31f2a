using System.Globalization;
using SkiaSharp;

namespace CovidServerless.Training.Tests;

/// <summary>
/// Writes a tiny labelled dataset (train/ and val/, each with covid/ and noncovid/) of synthetic greyscale PNGs:
/// "covid" images carry several bright blobs, "non-covid" ones do not. Learnable in a few epochs by any of the
/// architectures, so an end-to-end run can be checked for real separation, not just for not crashing.
/// </summary>
internal static class SyntheticScans
{
    public static string Create(string root, int trainPerClass, int valPerClass, int seed)
    {
        var random = new Random(seed);
        foreach (var (split, count) in new[] { ("train", trainPerClass), ("val", valPerClass) })
        {
            foreach (var label in new[] { "covid", "noncovid" })
            {
                var directory = Path.Combine(root, split, label);
                Directory.CreateDirectory(directory);
                for (var i = 0; i < count; i++)
                {
                    File.WriteAllBytes(Path.Combine(directory, $"{label}-{i:D3}.png"), Draw(random, label == "covid"));
                }
            }
        }

        return root;
    }

    /// <summary>
    /// The shared data's manifest.csv for every image under <paramref name="dataRoot"/>, consecutive images (in path
    /// order) grouped <paramref name="imagesPerPatient"/> to a patient; returns the images' paths relative to it.
    /// </summary>
    public static List<string> WriteManifest(string dataRoot, int imagesPerPatient)
    {
        var files = Directory.EnumerateFiles(dataRoot, "*.png", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dataRoot, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
        File.WriteAllLines(Path.Combine(dataRoot, "manifest.csv"), [
            "file,modality,split,label,patient_group,licence",
            .. files.Select((f, i) => string.Create(CultureInfo.InvariantCulture,
                $"{f},{f.Split('/')[0]},{f.Split('/')[1]},{f.Split('/')[2]},{f.Split('/')[2]}-{i / imagesPerPatient},test")),
        ]);
        return files;
    }

    private static byte[] Draw(Random random, bool covid)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(256, 256, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            var background = (byte)random.Next(40, 90);
            canvas.Clear(new SKColor(background, background, background));
            using var paint = new SKPaint { IsAntialias = true };
            for (var i = 0; i < 6; i++)
            {
                // Thin dark lines in both classes, so brightness alone is not the only cue at every pixel.
                paint.Color = new SKColor(20, 20, 20);
                paint.StrokeWidth = 3;
                canvas.DrawLine(random.Next(256), random.Next(256), random.Next(256), random.Next(256), paint);
            }

            if (covid)
            {
                for (var i = 0; i < 5; i++)
                {
                    var level = (byte)random.Next(180, 240);
                    paint.Color = new SKColor(level, level, level);
                    canvas.DrawCircle(random.Next(40, 216), random.Next(40, 216), random.Next(15, 35), paint);
                }
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
