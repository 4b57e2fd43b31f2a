using CovidServerless.Core.Imaging;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests.Dicom;

/// <summary>Results may carry a DICOM scan's study, series and SOP instance UIDs; nothing else from its header.</summary>
public class DicomUidTests
{
    private static readonly DicomSpec Slice = new(40, 40, new int[1600]) { Modality = "CT" };

    public static TheoryData<string> Syntaxes => [.. DicomWriter.LosslessSyntaxes];

    [Theory]
    [MemberData(nameof(Syntaxes))]
    public void The_study_series_and_sop_instance_uids_are_read_in_every_syntax(string syntax)
    {
        var uids = new ScanDecoder().ReadDicomUids(DicomWriter.Write(Slice, syntax));

        Assert.Equal(new DicomUids(Slice.StudyInstanceUid, Slice.SeriesInstanceUid, Slice.SopInstanceUid), uids);
    }

    [SkippableFact]
    public void A_real_ct_slice_gives_the_uids_its_header_holds()
    {
        var file = DicomRealFilesTests.Read("CT_small.dcm");

        var uids = new ScanDecoder().ReadDicomUids(file);

        // As pydicom 2.3.1 reads CT_small.dcm: StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID.
        Assert.Equal(
            new DicomUids(
                "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
                "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322",
                "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"),
            uids);
    }

    [Fact]
    public void A_uid_attribute_holding_anything_but_digits_and_dots_is_dropped_so_no_other_text_travels_as_a_uid()
    {
        var spec = Slice with { SeriesInstanceUid = Slice.PatientName, StudyInstanceUid = "1.2.3." + new string('4', 70) };

        var uids = new ScanDecoder().ReadDicomUids(DicomWriter.Write(spec, DicomWriter.ExplicitLittle));

        Assert.Equal(new DicomUids(null, null, Slice.SopInstanceUid), uids);
    }

    [Fact]
    public void No_uids_are_read_when_results_are_configured_without_them()
    {
        var limits = new ImageLimitsOptions();
        limits.Dicom.UidsInResults = false;

        var uids = new ScanDecoder(Options.Create(limits)).ReadDicomUids(DicomWriter.Write(Slice, DicomWriter.ExplicitLittle));

        Assert.Null(uids);
    }

    [Fact]
    public void Files_that_are_not_dicom_or_not_readable_give_no_uids()
    {
        var decoder = new ScanDecoder();
        var truncated = DicomWriter.Write(Slice, DicomWriter.ExplicitLittle)[..150];
        var withoutUids = DicomWriter.Write(Slice with { StudyInstanceUid = null, SeriesInstanceUid = null, SopInstanceUid = null }, DicomWriter.ExplicitLittle);

        Assert.Null(decoder.ReadDicomUids(TestImages.Uniform(100)));
        Assert.Null(decoder.ReadDicomUids(truncated));
        Assert.Null(decoder.ReadDicomUids(withoutUids));
    }
}
