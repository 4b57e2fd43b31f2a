using SkiaSharp;

namespace CovidServerless.Core.Imaging;

/// <summary>Turns a bitmap stored in a camera's orientation upright, as EXIF orientation tags ask.</summary>
internal static class ExifOrientation
{
    public static SKBitmap ApplyUpright(SKBitmap source, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft)
        {
            return source;
        }

        int w = source.Width, h = source.Height;
        var swapsAxes = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
            or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var upright = new SKBitmap(new SKImageInfo(swapsAxes ? h : w, swapsAxes ? w : h, source.ColorType, source.AlphaType));
        using (var image = SKImage.FromBitmap(source))
        using (var canvas = new SKCanvas(upright))
        {
            canvas.SetMatrix(ToUpright(origin, w, h));
            canvas.DrawImage(image, 0, 0, SKSamplingOptions.Default);
        }

        source.Dispose();
        return upright;
    }

    // x' = ScaleX*x + SkewX*y + TransX; y' = SkewY*x + ScaleY*y + TransY
    private static SKMatrix ToUpright(SKEncodedOrigin origin, int w, int h) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => SKMatrix.Identity,
    };
}
