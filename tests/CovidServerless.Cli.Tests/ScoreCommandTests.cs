using System.Text.Json;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;

namespace CovidServerless.Cli.Tests;

[Collection(ConsoleCapture.Collection)]
public sealed class ScoreCommandTests : IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private readonly string folder = Directory.CreateTempSubdirectory("covidscan-score-").FullName;

    [Fact]
    public async Task Scores_files_and_folders_without_storage_and_reports_bad_files_as_rejected()
    {
        File.WriteAllBytes(Path.Combine(folder, "bright.png"), TestImages.Uniform(240));
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllBytes(Path.Combine(folder, "sub", "dark.png"), TestImages.Uniform(10));
        var notAnImage = Path.Combine(folder, "notes.png");
        File.WriteAllText(notAnImage, "not an image");

        var (exit, output, _) = await ConsoleCapture.RunAsync("score", folder, "--modality", "chest", "--models", models.ManifestPath, "--json");

        Assert.Equal(0, exit);
        var results = JsonSerializer.Deserialize<List<ScanResult>>(output, ScanResult.JsonOptions)!;
        Assert.Equal(3, results.Count);
        var bright = results.Single(r => r.BlobName.EndsWith("bright.png", StringComparison.Ordinal));
        var dark = results.Single(r => r.BlobName.EndsWith("dark.png", StringComparison.Ordinal));
        Assert.Equal(("covid", "noncovid"), (bright.Verdict, dark.Verdict));
        Assert.Equal(4, bright.Models.Count);
        var rejected = results.Single(r => r.BlobName == notAnImage);
        Assert.Equal(ScanStatus.Rejected, rejected.Status);
    }

    [Fact]
    public async Task A_scan_inside_the_abstaining_band_prints_indeterminate_needs_a_radiologist_and_the_exit_code_stays_zero()
    {
        using var abstaining = ModelFolder.WithAbstainingChest(margin: 0.2); // chest: indeterminate from 0.3 to 0.7
        File.WriteAllBytes(Path.Combine(folder, "mid-grey.png"), TestImages.Uniform(128)); // pCovid about 0.50
        File.WriteAllBytes(Path.Combine(folder, "bright.png"), TestImages.Uniform(250)); // about 0.76

        var (exit, table, _) = await ConsoleCapture.RunAsync("score", folder, "--modality", "chest", "--models", abstaining.ManifestPath);
        var (jsonExit, json, _) = await ConsoleCapture.RunAsync("score", folder, "--modality", "chest", "--models", abstaining.ManifestPath, "--json");

        Assert.Equal((0, 0), (exit, jsonExit)); // a verdict, whatever it is, is not an error
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith($"{Path.Combine(folder, "mid-grey.png")}: indeterminate: needs a radiologist (pCovid 0.501, threshold 0.50) vgg16=", Assert.Single(lines, l => l.Contains("mid-grey", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.StartsWith($"{Path.Combine(folder, "bright.png")}: covid (pCovid 0.756", Assert.Single(lines, l => l.Contains("bright", StringComparison.Ordinal)), StringComparison.Ordinal);
        var results = JsonSerializer.Deserialize<List<ScanResult>>(json, ScanResult.JsonOptions)!;
        var unsure = results.Single(r => r.BlobName.EndsWith("mid-grey.png", StringComparison.Ordinal));
        Assert.Equal(("indeterminate", 0.5), (unsure.Verdict, unsure.Threshold)); // the JSON carries the contract's value, not the words
        Assert.Equal(4, unsure.Models.Count);
    }

    [Fact]
    public async Task Only_indeterminate_verdicts_still_exit_zero_and_no_image_at_all_exits_one()
    {
        using var abstaining = ModelFolder.WithAbstainingChest(margin: 0.45);
        File.WriteAllBytes(Path.Combine(folder, "mid-grey.png"), TestImages.Uniform(128));
        var empty = Directory.CreateDirectory(Path.Combine(folder, "empty")).FullName;

        var (exit, output, _) = await ConsoleCapture.RunAsync("score", Path.Combine(folder, "mid-grey.png"), "--modality", "chest", "--models", abstaining.ManifestPath);
        var (emptyExit, _, _) = await ConsoleCapture.RunAsync("score", empty, "--modality", "chest", "--models", abstaining.ManifestPath);

        Assert.Equal((0, 1), (exit, emptyExit));
        Assert.Contains("indeterminate: needs a radiologist", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Heatmap_option_writes_the_ensemble_and_each_members_overlay_at_the_scans_size_for_scored_files_only()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var committed = Path.Combine(RepoPaths.Root, "models", "manifest.json");
        var source = Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, "ct", "val", "covid")).Order(StringComparer.Ordinal).First();
        File.Copy(source, Path.Combine(folder, "patient.scan" + Path.GetExtension(source)));
        using var sourceCodec = SkiaSharp.SKCodec.Create(source);
        var size = (sourceCodec.Info.Width, sourceCodec.Info.Height);
        File.WriteAllText(Path.Combine(folder, "notes.png"), "not an image");
        var heatmaps = Path.Combine(folder, "heatmaps");

        var (exit, _, _) = await ConsoleCapture.RunAsync("score", folder, "--modality", "ct", "--models", committed, "--heatmap", heatmaps);

        Assert.Equal(0, exit);
        string[] expected = ["patient.scan.ensemble.png", "patient.scan.inceptionv3.png", "patient.scan.resnet50.png", "patient.scan.vgg16.png", "patient.scan.xception.png"];
        Assert.Equal(expected, Directory.GetFiles(heatmaps).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var file in expected)
        {
            using var codec = SkiaSharp.SKCodec.Create(Path.Combine(heatmaps, file));
            Assert.Equal(SkiaSharp.SKEncodedImageFormat.Png, codec.EncodedFormat);
            Assert.Equal(size, (codec.Info.Width, codec.Info.Height));
        }
    }

    [Fact]
    public async Task Scores_dicom_files_in_a_folder_as_their_pixels_with_their_instance_uids_and_rejects_a_wrong_modality_without_patient_data()
    {
        // The same 8-bit greys as a PNG and as a DX DICOM with an identity window: equal scores.
        var greys = Enumerable.Range(0, 64 * 64).Select(i => 40 + (i % 64 * 3)).ToArray();
        var png = TestImages.Encode(64, 64, (x, y) => new SkiaSharp.SKColor((byte)greys[(y * 64) + x], (byte)greys[(y * 64) + x], (byte)greys[(y * 64) + x]), SkiaSharp.SKEncodedImageFormat.Png);
        File.WriteAllBytes(Path.Combine(folder, "ramp.png"), png);
        var spec = new DicomSpec(64, 64, greys) { WindowCenter = "128", WindowWidth = "256" };
        File.WriteAllBytes(Path.Combine(folder, "ramp.dcm"), DicomWriter.Write(spec, DicomWriter.Rle));
        File.WriteAllBytes(Path.Combine(folder, "mr.dcm"), DicomWriter.Write(spec with { Modality = "MR" }, DicomWriter.ExplicitLittle));

        var (exit, output, error) = await ConsoleCapture.RunAsync("score", folder, "--modality", "chest", "--models", models.ManifestPath, "--json");

        Assert.Equal(0, exit);
        var results = JsonSerializer.Deserialize<List<ScanResult>>(output, ScanResult.JsonOptions)!;
        Assert.Equal(3, results.Count);
        var fromPng = results.Single(r => r.BlobName.EndsWith("ramp.png", StringComparison.Ordinal));
        var fromDicom = results.Single(r => r.BlobName.EndsWith("ramp.dcm", StringComparison.Ordinal));
        Assert.Equal(ScanStatus.Scored, fromDicom.Status);
        Assert.Equal(fromPng.PCovid!.Value, fromDicom.PCovid!.Value, 1e-4);
        var mr = results.Single(r => r.BlobName.EndsWith("mr.dcm", StringComparison.Ordinal));
        Assert.Equal(ScanStatus.Rejected, mr.Status);
        Assert.Equal("The DICOM file's modality is MR; the chest container takes CR, DX.", mr.Reason);
        Assert.Equal(new DicomUids(spec.StudyInstanceUid, spec.SeriesInstanceUid, spec.SopInstanceUid), fromDicom.Dicom);
        Assert.Equal(fromDicom.Dicom, mr.Dicom); // a rejected DICOM scan carries its UIDs too, as in the pipeline
        Assert.Null(fromPng.Dicom);
        Assert.DoesNotContain("CANARY", output + error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(spec.PatientId, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_to_score_when_a_model_is_missing_and_says_which()
    {
        File.Delete(Path.Combine(models.Root, "ct", "vgg16.onnx"));
        File.WriteAllBytes(Path.Combine(folder, "a.png"), TestImages.Uniform(100));

        var (exit, _, error) = await ConsoleCapture.RunAsync("score", folder, "--modality", "ct", "--models", models.ManifestPath);

        Assert.Equal(2, exit);
        Assert.Contains("vgg16.onnx", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_path_is_named_before_anything_is_scored()
    {
        File.WriteAllBytes(Path.Combine(folder, "a.png"), TestImages.Uniform(100));
        var typo = Path.Combine(folder, "no-such-scan.png");

        var (exit, output, error) = await ConsoleCapture.RunAsync("score", Path.Combine(folder, "a.png"), typo, "--modality", "chest", "--models", models.ManifestPath);

        Assert.Equal(2, exit);
        Assert.Contains($"No such file or folder: {typo}", error, StringComparison.Ordinal);
        Assert.Empty(output);
    }

    [Fact]
    public async Task A_folder_without_images_is_reported()
    {
        Directory.CreateDirectory(Path.Combine(folder, "notes"));
        File.WriteAllText(Path.Combine(folder, "notes", "scan.txt"), "not a scan");

        var (exit, _, error) = await ConsoleCapture.RunAsync("score", Path.Combine(folder, "notes"), "--modality", "chest", "--models", models.ManifestPath);

        Assert.Equal(1, exit);
        Assert.Contains("No images under", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_modality_is_a_usage_error()
    {
        var (exit, _, error) = await ConsoleCapture.RunAsync("score", folder, "--modality", "mri", "--models", models.ManifestPath);

        Assert.NotEqual(0, exit);
        Assert.Contains("chest or ct", error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        models.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}
