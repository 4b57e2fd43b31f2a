using System.ComponentModel.DataAnnotations;
using CovidServerless.Core.Imaging.Dicom;

namespace CovidServerless.Core.Imaging;

/// <summary>What a scan must satisfy before any pixel is decoded. Bound from configuration section "Images".</summary>
public sealed class ImageLimitsOptions
{
    public const string SectionName = "Images";

    /// <summary>Largest accepted file; checked against the blob's length before it is downloaded.</summary>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Largest width or height the header may declare (refuses decompression bombs).</summary>
    [Range(1, 65_535)]
    public int MaxSide { get; set; } = 12_000;

    /// <summary>
    /// Largest width x height the header may declare: 32 MiP (33,554,432, e.g. 5,792 x 5,792), over twice the largest
    /// real chest X-ray (about 4,300 x 3,500 = 15 MP) and 128 times a 512 x 512 CT slice. Decoded as RGBA it is 128 MiB,
    /// so that two fit in the default <see cref="MaxDecodedPixelsInFlight"/>; anything larger is no plausible scan.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = 32L * 1024 * 1024;

    /// <summary>
    /// Decoded pixels (4 bytes each) the whole process may hold at once (<see cref="DecodedPixelBudget"/>): 64 MiP, i.e.
    /// 256 MiB of bitmaps, sized for the smallest deployment target (a 2 GB Flex Consumption instance, which also holds
    /// the models and the files in flight). Two maximum-size images, four of the largest real chest X-rays, or 256 CT
    /// slices decode at once; further callers wait. Must be at least <see cref="MaxPixels"/>.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxDecodedPixelsInFlight { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long a scan waits for room in <see cref="MaxDecodedPixelsInFlight"/> before it is refused for now (the
    /// worker answers 503 with Retry-After; the hosts retry the scan later).
    /// </summary>
    [Range(0, 600)]
    public int DecodeWaitSeconds { get; set; } = 30;

    /// <summary>Smallest width or height that can still hold a readable chest image.</summary>
    [Range(1, 65_535)]
    public int MinSide { get; set; } = 32;

    /// <summary>How DICOM files are checked and rendered ("Images:Dicom").</summary>
    public DicomOptions Dicom { get; set; } = new();
}
