using SkiaSharp;

namespace CovidServerless.Core.Imaging;

/// <summary>
/// A decoded scan, upright (EXIF orientation applied), as 8-bit RGBA with alpha premultiplied, i.e. any
/// transparency composited over black. Owns its pixels, which are read-only (so Skia can read them without a copy).
/// </summary>
public sealed class DecodedScan(SKBitmap bitmap, string format) : IDisposable
{
    private IDisposable? reservation;

    /// <summary>A decoded scan whose pixels count against <see cref="DecodedPixelBudget"/> until it is disposed.</summary>
    internal DecodedScan(SKBitmap bitmap, string format, IDisposable reservation)
        : this(bitmap, format)
    {
        this.reservation = reservation;
    }

    public SKBitmap Bitmap { get; } = bitmap;

    /// <summary>The encoded format the scan arrived in, e.g. "png" (for diagnostics only, never a feature).</summary>
    public string Format { get; } = format;

    public int Width => Bitmap.Width;

    public int Height => Bitmap.Height;

    public void Dispose()
    {
        Bitmap.Dispose();
        Interlocked.Exchange(ref reservation, null)?.Dispose();
    }
}
