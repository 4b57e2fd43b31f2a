namespace CovidServerless.Core.Imaging.Dicom;

/// <summary>How DICOM scans are checked and rendered. Bound from configuration section "Images:Dicom".</summary>
public sealed class DicomOptions
{
    /// <summary>DICOM Modality values accepted for chest X-rays, comma-separated.</summary>
    public string ChestModalities { get; set; } = "CR,DX";

    /// <summary>DICOM Modality values accepted for CT slices, comma-separated.</summary>
    public string CtModalities { get; set; } = "CT";

    /// <summary>
    /// The VOI window used when a monochrome image gives none, by DICOM Modality (values after the modality LUT,
    /// e.g. Hounsfield units for CT). A modality without an entry is shown from the minimum to the maximum of its
    /// values, as an X-ray viewer does.
    /// </summary>
    public Dictionary<string, DicomWindow> DefaultWindows { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        // The lung window.
        ["CT"] = new DicomWindow { Center = -600, Width = 1500 },
    };

    /// <summary>
    /// Whether results carry the scan's StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID (consumers need them to
    /// attach a result to its study; CT series are aggregated by SeriesInstanceUID, so off means no series results).
    /// No other header attribute is ever stored, logged or sent.
    /// </summary>
    public bool UidsInResults { get; set; } = true;

    /// <summary>Largest data set a deflated file may inflate to (refuses deflate bombs).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, long.MaxValue)]
    public long MaxInflatedBytes { get; set; } = 64L * 1024 * 1024;

    public IReadOnlyList<string> ModalitiesFor(Modality container) =>
        [.. (container == Modality.Ct ? CtModalities : ChestModalities)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}

/// <summary>A VOI window: centre and width, as DICOM WindowCenter/WindowWidth.</summary>
public sealed class DicomWindow
{
    public double Center { get; set; }

    [System.ComponentModel.DataAnnotations.Range(1, double.MaxValue)]
    public double Width { get; set; } = 1;
}
