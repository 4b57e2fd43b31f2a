using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Core.Tests.Dicom;

/// <summary>
/// A DICOM file is scored as its pixels: through whatever models are committed in models/ (and their input gate), a
/// real val scan written as DICOM in every lossless syntax gets the scores the same pixels get as a PNG.
/// </summary>
public sealed class DicomScoringTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string CommittedManifest = Path.Combine(RepoPaths.Root, "models", "manifest.json");

    [SkippableTheory]
    [MemberData(nameof(ValFolders.ModalitiesAndLabels), MemberType = typeof(ValFolders))]
    public async Task A_val_scan_as_dicom_in_every_lossless_syntax_scores_as_the_same_pixels_as_png_within_1e_4(string modality, string label)
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        Skip.IfNot(File.Exists(CommittedManifest), $"no committed models at {CommittedManifest}");
        var source = Directory.GetFiles(Path.Combine(RepoPaths.SharedData!, modality, "val", label)).Order(StringComparer.Ordinal).First();
        var container = ModalityNames.Parse(modality);
        using var decoded = new ScanDecoder().Decode(File.ReadAllBytes(source));
        using var pngData = decoded.Bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var png = pngData.ToArray();
        var spec = DicomWriter.SpecOf(decoded.Bitmap, container == Modality.Ct ? "CT" : "DX");
        using var catalog = TestCatalogs.Load(CommittedManifest);
        using var scorer = TestCatalogs.Scorer(catalog);

        var asPng = await Outcome(scorer, container, png);
        output.WriteLine($"{Path.GetFileName(source)} as PNG: {asPng.Score?.PCovid.ToString("F6", System.Globalization.CultureInfo.InvariantCulture) ?? asPng.Rejection}");
        foreach (var syntax in DicomWriter.LosslessSyntaxes)
        {
            var asDicom = await Outcome(scorer, container, DicomWriter.Write(spec, syntax));
            output.WriteLine($"  as DICOM {syntax}: {asDicom.Score?.PCovid.ToString("F6", System.Globalization.CultureInfo.InvariantCulture) ?? asDicom.Rejection}");

            Assert.Equal(asPng.Rejection, asDicom.Rejection);
            if (asPng.Score is { } expected)
            {
                var actual = asDicom.Score!;
                Assert.Equal(expected.Verdict, actual.Verdict);
                Assert.True(Math.Abs(expected.PCovid - actual.PCovid) <= 1e-4, $"{syntax}: ensemble pCovid {actual.PCovid} vs {expected.PCovid} as PNG");
                Assert.Equal(expected.Models.Select(m => m.Name), actual.Models.Select(m => m.Name));
                foreach (var (want, got) in expected.Models.Zip(actual.Models))
                {
                    Assert.True(Math.Abs(want.PCovid - got.PCovid) <= 1e-4, $"{syntax}: {got.Name} pCovid {got.PCovid} vs {want.PCovid} as PNG");
                }
            }
        }
    }

    /// <summary>The ensemble's score, or the reason the scan was rejected (the input gate may refuse a scan).</summary>
    private static async Task<(EnsembleScore? Score, string? Rejection)> Outcome(TestCatalogs.OwnedScorer scorer, Modality modality, byte[] file)
    {
        try
        {
            return (await scorer.ScoreAsync(modality, file, CancellationToken.None), null);
        }
        catch (ScanRejectedException ex)
        {
            return (null, ex.Message);
        }
    }
}
