namespace CovidServerless.Core.Imaging.Dicom;

/// <summary>
/// The instance UIDs a DICOM scan's result carries so that a consumer can attach it to the study: study, series and
/// SOP instance (each null when the file has none in UID form). Nothing else from the header ever leaves the reader.
/// </summary>
public sealed record DicomUids(string? StudyInstanceUid, string? SeriesInstanceUid, string? SopInstanceUid)
{
    /// <summary>Whether <paramref name="text"/> has a UID's form: digit components separated by dots, at most 64 characters.</summary>
    public static bool IsUid(string? text) => DicomFile.IsUid(text);
}
