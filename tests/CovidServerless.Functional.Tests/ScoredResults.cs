using CovidServerless.Core;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Functional.Tests;

/// <summary>Results as the pipeline records a scored scan, for tests of what storage does with them.</summary>
internal static class ScoredResults
{
    /// <summary>A scored result of <paramref name="id"/>: two members and the ensemble at <paramref name="pCovid"/>, threshold 0.5.</summary>
    public static ScanResult For(ScanIdentity id, double pCovid = 0.8, DateTimeOffset? processedAt = null, DicomUids? dicom = null) => new()
    {
        ScanId = id.ScanId,
        Modality = id.Modality.ToName(),
        BlobName = id.BlobName,
        BlobVersion = id.BlobVersion,
        Status = ScanStatus.Scored,
        Verdict = Verdicts.For(pCovid, 0.5),
        PCovid = pCovid,
        Threshold = 0.5,
        Models = [new ModelScore("vgg16", "1", pCovid, Verdicts.For(pCovid, 0.5)), new ModelScore("resnet50", "1", pCovid, Verdicts.For(pCovid, 0.5))],
        Dicom = dicom,
        UploadedAt = id.UploadedAt,
        ProcessedAt = processedAt ?? DateTimeOffset.UtcNow,
    };
}
