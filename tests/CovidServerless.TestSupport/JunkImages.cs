using SkiaSharp;

namespace CovidServerless.TestSupport;

/// <summary>
/// Images an upload folder holds by mistake, drawn here independently of the trainer's own negatives (other
/// sizes, seeds and drawing code), so the gate's tests see images it was not trained on.
/// </summary>
public static class JunkImages
{
    public static readonly string[] Kinds = ["black", "white", "grey", "noise", "colour-noise", "gradient", "checkerboard", "text"];

    /// <summary><paramref name="count"/> PNG files of one kind, from a fixed seed.</summary>
    public static IEnumerable<byte[]> Make(string kind, int count, int seed = 2026)
    {
        var random = new Random(seed + kind.Length);
        for (var i = 0; i < count; i++)
        {
            int width = random.Next(200, 1100), height = random.Next(200, 1100);
            yield return kind switch
            {
                "black" => Draw(width, height, c => c.Clear(SKColors.Black)),
                "white" => Draw(width, height, c => c.Clear(SKColors.White)),
                "grey" => Draw(width, height, c => c.Clear(Grey(random.Next(20, 236)))),
                "noise" => Pixels(width, height, _ => Grey(random.Next(256))),
                "colour-noise" => Pixels(width, height, _ => new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256))),
                "gradient" => Gradient(width, height, random),
                "checkerboard" => Checkerboard(width, height, random.Next(3, 120), Grey(random.Next(0, 100)), Grey(random.Next(150, 256))),
                "text" => Text(width, height, random),
                _ => throw new ArgumentException($"Unknown junk kind '{kind}'.", nameof(kind)),
            };
        }
    }

    private static SKColor Grey(int level) => new((byte)level, (byte)level, (byte)level);

    private static byte[] Gradient(int width, int height, Random random)
    {
        SKColor from = Grey(random.Next(0, 80)), to = Grey(random.Next(170, 256));
        var horizontal = random.Next(2) == 0;
        return Draw(width, height, c =>
        {
            using var shader = SKShader.CreateLinearGradient(
                new SKPoint(0, 0), horizontal ? new SKPoint(width, 0) : new SKPoint(0, height), [from, to], SKShaderTileMode.Clamp);
            using var paint = new SKPaint { Shader = shader };
            c.DrawRect(0, 0, width, height, paint);
        });
    }

    private static byte[] Checkerboard(int width, int height, int cell, SKColor a, SKColor b) =>
        Pixels(width, height, p => ((p.X / cell) + (p.Y / cell)) % 2 == 0 ? a : b);

    private static byte[] Text(int width, int height, Random random)
    {
        var font = Directory.Exists("/usr/share/fonts")
            ? Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories).Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        return Draw(width, height, c =>
        {
            c.Clear(SKColors.White);
            using var typeface = font is null ? SKTypeface.Default : SKTypeface.FromFile(font);
            using var skFont = new SKFont(typeface, random.Next(14, 40));
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            for (var y = skFont.Size * 2; y < height - skFont.Size; y += skFont.Size * 1.6f)
            {
                c.DrawText("Discharge summary: see attached letter, page 2 of 3.", 20, y, SKTextAlign.Left, skFont, paint);
            }
        });
    }

    private static byte[] Draw(int width, int height, Action<SKCanvas> draw)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            draw(canvas);
        }

        return Encode(bitmap);
    }

    private static byte[] Pixels(int width, int height, Func<SKPointI, SKColor> colour)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var pixels = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var c = colour(new SKPointI(x, y));
                var at = ((y * width) + x) * 4;
                (pixels[at], pixels[at + 1], pixels[at + 2], pixels[at + 3]) = (c.Red, c.Green, c.Blue, 255);
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return Encode(bitmap);
    }

    private static byte[] Encode(SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
