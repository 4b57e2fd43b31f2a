using SkiaSharp;

namespace CovidServerless.Training.Gate;

/// <summary>
/// Images that are neither a chest X-ray nor a CT slice, drawn with SkiaSharp: the kinds of files an upload folder
/// holds by mistake (blank frames, noise, gradients, patterns, shapes, text and documents, screenshots of fragments).
/// Encoded as PNG so they reach the gate through the same decoder as uploads.
/// </summary>
internal static class GateNegatives
{
    public static readonly string[] Kinds = ["uniform", "noise", "gradient", "checkerboard", "shapes", "text"];

    private static readonly Lazy<SKTypeface[]> Fonts = new(LoadFonts);

    /// <summary>One image of <paramref name="kind"/>, drawn from <paramref name="random"/>.</summary>
    public static byte[] Draw(string kind, Random random)
    {
        var width = random.Next(96, 640);
        var height = Math.Clamp((int)(width * (0.6 + (random.NextDouble() * 0.9))), 64, 800);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            switch (kind)
            {
                case "uniform": Uniform(canvas, bitmap, random); break;
                case "noise": Noise(bitmap, random); break;
                case "gradient": Gradient(canvas, width, height, random); break;
                case "checkerboard": Checkerboard(bitmap, random); break;
                case "shapes": Shapes(canvas, width, height, random); break;
                case "text": Text(canvas, width, height, random); break;
                default: throw new ArgumentException($"Unknown negative kind '{kind}'.", nameof(kind));
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A small crop of a real scan blown up to a full image: a detail, not a chest X-ray or a CT slice.</summary>
    public static byte[] Fragment(SKBitmap source, Random random)
    {
        var side = Math.Max(8, (int)(Math.Min(source.Width, source.Height) * (0.08 + (random.NextDouble() * 0.17))));
        var x = random.Next(0, Math.Max(1, source.Width - side));
        var y = random.Next(0, Math.Max(1, source.Height - side));
        var size = random.Next(128, 512);
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        using (var image = SKImage.FromBitmap(source))
        {
            canvas.DrawImage(image, new SKRect(x, y, x + side, y + side), new SKRect(0, 0, size, size), new SKSamplingOptions(SKFilterMode.Linear));
        }

        using var encoded = SKImage.FromBitmap(bitmap);
        using var data = encoded.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKColor Colour(Random random, bool grey)
    {
        if (grey)
        {
            var g = (byte)random.Next(256);
            return new SKColor(g, g, g);
        }

        return new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
    }

    private static void Uniform(SKCanvas canvas, SKBitmap bitmap, Random random)
    {
        canvas.Clear(Colour(random, grey: random.NextDouble() < 0.7));
        if (random.NextDouble() < 0.5)
        {
            canvas.Flush();
            AddNoise(bitmap, random, amplitude: random.Next(1, 6));
        }
    }

    private static void Noise(SKBitmap bitmap, Random random)
    {
        // Fine noise, or coarse noise (blotches of a random cell size); written straight into the pixels.
        var cell = random.NextDouble() < 0.5 ? 1 : random.Next(2, 24);
        var grey = random.NextDouble() < 0.6;
        int width = bitmap.Width, height = bitmap.Height, columns = (width / cell) + 1;
        var cells = new SKColor[columns * ((height / cell) + 1)];
        for (var i = 0; i < cells.Length; i++)
        {
            cells[i] = Colour(random, grey);
        }

        FillPixels(bitmap, (x, y) => cells[((y / cell) * columns) + (x / cell)]);
        if (random.NextDouble() < 0.3)
        {
            AddNoise(bitmap, random, amplitude: 20);
        }
    }

    private static void Gradient(SKCanvas canvas, int width, int height, Random random)
    {
        var grey = random.NextDouble() < 0.7;
        SKColor[] colours = [.. Enumerable.Range(0, random.Next(2, 4)).Select(_ => Colour(random, grey))];
        var style = random.Next(3);

        // Axis-aligned (the commonest: a scanner's blank frame, a slide background), at any angle, or radial.
        var (from, to) = random.Next(4) switch
        {
            0 => (new SKPoint(0, 0), new SKPoint(width, 0)),
            1 => (new SKPoint(width, 0), new SKPoint(0, 0)),
            2 => (new SKPoint(0, 0), new SKPoint(0, height)),
            _ => (new SKPoint(0, height), new SKPoint(0, 0)),
        };
        using var shader = style switch
        {
            0 => SKShader.CreateLinearGradient(from, to, colours, SKShaderTileMode.Clamp),
            1 => SKShader.CreateLinearGradient(
                new SKPoint(random.Next(width), random.Next(height)), new SKPoint(random.Next(width), random.Next(height)), colours, SKShaderTileMode.Clamp),
            _ => SKShader.CreateRadialGradient(
                new SKPoint(random.Next(width), random.Next(height)), random.Next(20, Math.Max(21, width)), colours, SKShaderTileMode.Clamp),
        };
        using var paint = new SKPaint { Shader = shader };
        canvas.DrawRect(0, 0, width, height, paint);
    }

    private static void Checkerboard(SKBitmap bitmap, Random random)
    {
        var grey = random.NextDouble() < 0.6;
        var (a, b) = (Colour(random, grey), Colour(random, grey));
        var cell = random.Next(2, 80);
        var stripes = random.NextDouble() < 0.3;
        FillPixels(bitmap, (x, y) => (stripes ? (x / cell) % 2 == 0 : ((x / cell) + (y / cell)) % 2 == 0) ? a : b);
    }

    private static void FillPixels(SKBitmap bitmap, Func<int, int, SKColor> colour)
    {
        var pixels = new byte[bitmap.Width * bitmap.Height * 4];
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var c = colour(x, y);
                var at = ((y * bitmap.Width) + x) * 4;
                (pixels[at], pixels[at + 1], pixels[at + 2], pixels[at + 3]) = (c.Red, c.Green, c.Blue, 255);
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
    }

    private static void Shapes(SKCanvas canvas, int width, int height, Random random)
    {
        var grey = random.NextDouble() < 0.5;
        canvas.Clear(Colour(random, grey));
        using var paint = new SKPaint { IsAntialias = true };
        for (var i = random.Next(1, 25); i > 0; i--)
        {
            paint.Color = Colour(random, grey);
            paint.Style = random.NextDouble() < 0.6 ? SKPaintStyle.Fill : SKPaintStyle.Stroke;
            paint.StrokeWidth = random.Next(1, 12);
            float x = random.Next(width), y = random.Next(height), r = random.Next(4, Math.Max(5, width / 3));
            switch (random.Next(3))
            {
                case 0: canvas.DrawCircle(x, y, r, paint); break;
                case 1: canvas.DrawRect(x - r, y - (r / 2), r * 2, r, paint); break;
                default: canvas.DrawLine(x, y, random.Next(width), random.Next(height), paint); break;
            }
        }
    }

    private static readonly string[] Words =
    [
        "patient", "report", "radiology", "invoice", "page", "date", "name", "signature", "total", "screenshot",
        "lorem", "ipsum", "dolor", "sit", "amet", "scan", "result", "hospital", "ward", "referral", "form", "code",
    ];

    private static void Text(SKCanvas canvas, int width, int height, Random random)
    {
        var dark = random.NextDouble() < 0.25;
        var background = dark ? (byte)random.Next(0, 60) : (byte)random.Next(190, 256);
        var ink = dark ? (byte)random.Next(180, 256) : (byte)random.Next(0, 90);
        canvas.Clear(new SKColor(background, background, background));
        var fonts = Fonts.Value;
        using var font = new SKFont(fonts.Length > 0 ? fonts[random.Next(fonts.Length)] : SKTypeface.Default, random.Next(9, 48));
        using var paint = new SKPaint { Color = new SKColor(ink, ink, ink), IsAntialias = true };
        var lines = random.NextDouble() < 0.3 ? random.Next(1, 3) : random.Next(3, 40);
        var y = font.Size * 1.5f;
        for (var i = 0; i < lines && y < height; i++, y += font.Size * (1.2f + (float)random.NextDouble()))
        {
            var text = string.Join(' ', Enumerable.Range(0, random.Next(1, 10)).Select(_ => Words[random.Next(Words.Length)]));
            canvas.DrawText(text, random.Next(0, Math.Max(1, width / 5)), y, SKTextAlign.Left, font, paint);
        }
    }

    private static void AddNoise(SKBitmap bitmap, Random random, int amplitude)
    {
        var pixels = bitmap.GetPixelSpan();
        var copy = pixels.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            if (i % 4 != 3)
            {
                copy[i] = (byte)Math.Clamp(copy[i] + random.Next(-amplitude, amplitude + 1), 0, 255);
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(copy, 0, bitmap.GetPixels(), copy.Length);
    }

    private static SKTypeface[] LoadFonts()
    {
        if (!Directory.Exists("/usr/share/fonts"))
        {
            return [];
        }

        return [.. Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(SKTypeface.FromFile)
            .Where(t => t is not null)];
    }
}
