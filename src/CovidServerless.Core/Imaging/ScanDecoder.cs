using CovidServerless.Core.Imaging.Dicom;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Core.Imaging;

/// <summary>
/// The project's one image decoder: validates an uploaded file and decodes it to upright RGBA pixels,
/// or throws <see cref="ScanRejectedException"/> with a reason a person understands. DICOM files are recognised by
/// content (the <c>DICM</c> magic after the preamble, or a preamble-less data set) and rendered by the DICOM reader.
/// </summary>
public sealed class ScanDecoder(IOptions<ImageLimitsOptions> options, DecodedPixelBudget budget)
{
    private static readonly Dictionary<SKEncodedImageFormat, string> Supported = new()
    {
        [SKEncodedImageFormat.Png] = "png",
        [SKEncodedImageFormat.Jpeg] = "jpeg",
        [SKEncodedImageFormat.Bmp] = "bmp",
        [SKEncodedImageFormat.Gif] = "gif",
        [SKEncodedImageFormat.Webp] = "webp",
    };

    private readonly ImageLimitsOptions limits = options.Value;

    public ScanDecoder(IOptions<ImageLimitsOptions> options)
        : this(options, new DecodedPixelBudget(options))
    {
    }

    public ScanDecoder()
        : this(Options.Create(new ImageLimitsOptions()))
    {
    }

    /// <summary>The budget every decode of this decoder reserves its pixels from.</summary>
    public DecodedPixelBudget Budget { get; } = budget;

    /// <summary>
    /// Decodes a scan. Given the container's <paramref name="modality"/>, a DICOM file must be of a DICOM Modality that
    /// fits it (e.g. CR or DX for chest); other formats carry no modality to check. Blocks while the pixel budget is
    /// full: for tools; servers call <see cref="DecodeAsync"/>.
    /// </summary>
    public DecodedScan Decode(ReadOnlySpan<byte> file, Modality? modality = null)
    {
        var reservation = Budget.Reserve(Inspect(file, modality).DecodedPixels);
        return DecodeReserved(file, modality, reservation);
    }

    /// <summary>
    /// As <see cref="Decode"/>, waiting asynchronously for room in the pixel budget; throws
    /// <see cref="Scoring.ScoringUnavailableException"/> when none comes in time. The pixels count against the budget
    /// until the scan is disposed.
    /// </summary>
    public async Task<DecodedScan> DecodeAsync(ReadOnlyMemory<byte> file, Modality? modality, CancellationToken cancellationToken)
    {
        var reservation = await Budget.ReserveAsync(Inspect(file.Span, modality).DecodedPixels, cancellationToken).ConfigureAwait(false);
        return DecodeReserved(file.Span, modality, reservation);
    }

    private DecodedScan DecodeReserved(ReadOnlySpan<byte> file, Modality? modality, IDisposable reservation)
    {
        try
        {
            if (DicomFile.Recognises(CheckLength(file)))
            {
                var dicom = DicomDecoder.Decode(file, limits, modality, decodePixels: true)!;
                dicom.SetImmutable();
                return new DecodedScan(dicom, "dicom", reservation);
            }

            using var data = SKData.CreateCopy(CheckLength(file));
            using var stream = new SKMemoryStream(data);
            using var codec = Open(stream, file);
            var upright = ExifOrientation.ApplyUpright(DecodePixels(codec), codec.EncodedOrigin);

            // Immutable pixels are shared, not copied, by the SKImage that preprocessing resizes from.
            upright.SetImmutable();
            return new DecodedScan(upright, Supported[codec.EncodedFormat], reservation);
        }
        catch
        {
            reservation.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every check <see cref="Decode"/> makes before it decodes pixels (size, format, declared dimensions, JPEG
    /// structure), without decoding them: for a host that sends the scan elsewhere to be scored, so that a file
    /// that cannot be a scan is rejected there, whether or not the scorer is reachable.
    /// </summary>
    /// <returns>The file's format: "dicom", "png", "jpeg", "bmp", "gif" or "webp".</returns>
    public string Validate(ReadOnlySpan<byte> file, Modality? modality = null) => Inspect(file, modality).Format;

    /// <summary>
    /// The checks of <see cref="Validate"/>, and how much of the pixel budget decoding will hold (in 4-byte pixels):
    /// the bitmap, twice over for an image that EXIF orientation turns (the turned copy), and a DICOM file's stored values.
    /// </summary>
    private (string Format, long DecodedPixels) Inspect(ReadOnlySpan<byte> file, Modality? modality)
    {
        if (DicomFile.Recognises(CheckLength(file)))
        {
            return ("dicom", DicomDecoder.DecodedPixels(file, limits, modality));
        }

        using var data = SKData.CreateCopy(CheckLength(file));
        using var stream = new SKMemoryStream(data);
        using var codec = Open(stream, file);
        var pixels = (long)codec.Info.Width * codec.Info.Height;
        return (Supported[codec.EncodedFormat], codec.EncodedOrigin == SKEncodedOrigin.TopLeft ? pixels : 2 * pixels);
    }

    /// <summary>
    /// The study, series and SOP instance UIDs of a DICOM file, or null when the file is not DICOM, its structure cannot
    /// be read, it holds none of them, or <see cref="DicomOptions.UidsInResults"/> is off. Reads the header only.
    /// </summary>
    public DicomUids? ReadDicomUids(ReadOnlySpan<byte> file)
    {
        if (!limits.Dicom.UidsInResults || file.IsEmpty || file.Length > limits.MaxBytes || !DicomFile.Recognises(file))
        {
            return null;
        }

        try
        {
            var dicom = DicomFile.Read(file, limits.Dicom.MaxInflatedBytes);
            var uids = new DicomUids(
                dicom.Uid(DicomFile.StudyInstanceUidTag), dicom.Uid(DicomFile.SeriesInstanceUidTag), dicom.Uid(DicomFile.SopInstanceUidTag));
            return uids is { StudyInstanceUid: null, SeriesInstanceUid: null, SopInstanceUid: null } ? null : uids;
        }
        catch (ScanRejectedException)
        {
            return null; // the decoder gives the reason in the result
        }
    }

    /// <summary>The media type of a format <see cref="Validate"/> returns.</summary>
    public static string MediaType(string format) => format switch
    {
        "png" => "image/png",
        "jpeg" => "image/jpeg",
        "bmp" => "image/bmp",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "dicom" => "application/dicom",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Not a format the decoder accepts."),
    };

    private ReadOnlySpan<byte> CheckLength(ReadOnlySpan<byte> file)
    {
        if (file.IsEmpty)
        {
            throw new ScanRejectedException("The file is empty (0 bytes).");
        }

        if (file.Length > limits.MaxBytes)
        {
            throw new ScanRejectedException($"The file is {file.Length:N0} bytes, over the {limits.MaxBytes:N0}-byte limit.", ScanProblem.TooLarge);
        }

        return file;
    }

    private SKCodec Open(SKMemoryStream stream, ReadOnlySpan<byte> file)
    {
        var codec = SKCodec.Create(stream, out var openResult)
            ?? throw new ScanRejectedException(
                "The file is not a readable image: expected PNG, JPEG, BMP, GIF or WebP" +
                (openResult == SKCodecResult.IncompleteInput && StartsLikeAnImage(file) ? " (the file is truncated)." : "."),
                openResult == SKCodecResult.IncompleteInput && StartsLikeAnImage(file) ? ScanProblem.Invalid : ScanProblem.NotAnImage);
        try
        {
            if (!Supported.ContainsKey(codec.EncodedFormat))
            {
                throw new ScanRejectedException(
                    $"Unsupported image format {codec.EncodedFormat.ToString().ToUpperInvariant()}: expected PNG, JPEG, BMP, GIF or WebP.",
                    ScanProblem.NotAnImage);
            }

            CheckDeclaredSize(codec.Info.Width, codec.Info.Height, limits);
            if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg && JpegStructure.InvalidMarkerInScanData(file) is { } marker)
            {
                throw new ScanRejectedException(
                    $"The image file is corrupt: its compressed pixel data is damaged (it holds the marker 0xFF{marker:X2}, which cannot occur there).");
            }

            return codec;
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    internal static void CheckDeclaredSize(int width, int height, ImageLimitsOptions limits)
    {
        if (width > limits.MaxSide || height > limits.MaxSide)
        {
            throw new ScanRejectedException(
                $"The image declares {width}x{height} pixels, over the limit of {limits.MaxSide} pixels a side; it was not decoded.");
        }

        if ((long)width * height > limits.MaxPixels)
        {
            throw new ScanRejectedException(
                $"The image declares {width}x{height} pixels, {(long)width * height:N0} in all, over the limit of {limits.MaxPixels:N0}; it was not decoded.");
        }

        if (width < limits.MinSide || height < limits.MinSide)
        {
            throw new ScanRejectedException(
                $"The image is only {width}x{height} pixels; at least {limits.MinSide}x{limits.MinSide} is needed to screen it.");
        }
    }

    private static SKBitmap DecodePixels(SKCodec codec)
    {
        // Premultiplied RGBA composites any transparency over black; greyscale, palette and 16-bit sources
        // all arrive as 8-bit RGB. GIFs decode their first frame.
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.Success)
        {
            return bitmap;
        }

        bitmap.Dispose();
        throw new ScanRejectedException(result switch
        {
            SKCodecResult.IncompleteInput => "The image file is truncated: its pixel data ends early.",
            SKCodecResult.ErrorInInput => "The image file is corrupt: its pixel data cannot be decoded.",
            _ => $"The image could not be decoded ({result}).",
        });
    }

    /// <summary>
    /// Whether the file begins as one of the supported formats does (Skia calls any file too short to tell
    /// "incomplete", a dozen bytes of text included; only a file that begins like an image is a truncated one).
    /// </summary>
    private static bool StartsLikeAnImage(ReadOnlySpan<byte> file)
    {
        static bool Begins(ReadOnlySpan<byte> file, ReadOnlySpan<byte> signature) =>
            file.Length >= signature.Length ? file.StartsWith(signature) : signature.StartsWith(file);

        return Begins(file, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])
            || Begins(file, [0xFF, 0xD8, 0xFF])
            || Begins(file, "GIF8"u8)
            || Begins(file, "BM"u8)
            || Begins(file, "RIFF"u8);
    }
}
