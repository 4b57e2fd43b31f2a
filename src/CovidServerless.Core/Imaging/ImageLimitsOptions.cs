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

    /// <summary>Largest width x height the header may declare.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = 64L * 1024 * 1024;

    /// <summary>Smallest width or height that can still hold a readable chest image.</summary>
    [Range(1, 65_535)]
    public int MinSide { get; set; } = 32;

    /// <summary>How DICOM files are checked and rendered ("Images:Dicom").</summary>
    public DicomOptions Dicom { get; set; } = new();
}
