using System.Globalization;
using CovidServerless.Core.Models;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Training;

namespace CovidServerless.Training.Tests;

/// <summary>train.sh's protocol (cross-validate -> train-final -> calibrate) on a tiny synthetic dataset.</summary>
[Collection(TorchTraining.Name)]
public sealed class ProtocolTests : IDisposable
{
    private readonly string workDirectory = Path.Combine(Path.GetTempPath(), "covidserverless-protocol-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Cross_validation_scores_every_scan_once_per_model_out_of_fold_and_calibrate_writes_triage_to_the_manifest()
    {
        var dataRoot = Path.Combine(workDirectory, "data");
        SyntheticScans.Create(Path.Combine(dataRoot, "ct"), trainPerClass: 24, valPerClass: 6, seed: 5);
        // Two images per patient: the folds must keep them together.
        var files = SyntheticScans.WriteManifest(dataRoot, imagesPerPatient: 2);
        var outDirectory = Path.Combine(workDirectory, "models");
        TrainingOptions Recipe(string architecture) => new()
        {
            Modality = "ct",
            Architecture = architecture,
            WidthMultiplier = 0.125,
            InternalResolution = 56,
            MaxEpochs = 4,
            BatchSize = 10,
            LearningRate = 3e-3,
            TeacherWeight = 0,
        };

        CrossValidateCommand.Run([Recipe("vgg16"), Recipe("resnet50")], 3, dataRoot, outDirectory, _ => { });

        var scores = OutOfFoldScores.Read(OutOfFoldScores.PathFor(outDirectory, "ct"));
        Assert.Equal(["original", "jpeg75", "png", "mirrored"], scores.Select(s => s.Variant).Distinct());
        Assert.Equal(files.Count * 2 * 4, scores.Count);
        Assert.All(scores.GroupBy(s => (s.File, s.Model, s.Variant)), g => Assert.Single(g));
        var foldOf = scores.GroupBy(s => s.File).ToDictionary(g => g.Key, g => Assert.Single(g.Select(s => s.Fold).Distinct()));
        Assert.All(files.Select((f, i) => (f, i)).GroupBy(x => x.i / 2), patient => Assert.Single(patient.Select(x => foldOf[x.f]).Distinct()));

        // Resuming with the same recipe does nothing; another recipe is refused instead of mixing scores.
        CrossValidateCommand.Run([Recipe("vgg16"), Recipe("resnet50")], 3, dataRoot, outDirectory, _ => { });
        Assert.Equal(scores.Count, OutOfFoldScores.Read(OutOfFoldScores.PathFor(outDirectory, "ct")).Count);
        Assert.Throws<ArgumentException>(() => CrossValidateCommand.Run([Recipe("vgg16") with { MaxEpochs = 5 }], 3, dataRoot, outDirectory, _ => { }));

        foreach (var architecture in new[] { "vgg16", "resnet50" })
        {
            TrainCommand.Run(Recipe(architecture), dataRoot, outDirectory, _ => { }, pooled: true);
        }

        CalibrateCommand.Run("ct", outDirectory, 0.9, 0.85, _ => { });

        var manifest = ModelManifest.Load(Path.Combine(outDirectory, "manifest.json"));
        var ct = manifest.Modalities["ct"];
        Assert.Equal(["vgg16", "resnet50"], ct.Models.Select(m => m.Name));
        Assert.All(ct.Models, m => Assert.Equal(files.Count, m.Validation!["n"]!.GetValue<int>()));
        Assert.All(ct.Models, m => Assert.Contains("train + ct/val", m.Training!["data"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal(0.9, ct.Ensemble.TargetSensitivity);
        Assert.NotNull(ct.Ensemble.Abstain);
        Assert.NotNull(ct.Ensemble.Calibration);
        Assert.All(ct.Models, m => Assert.NotNull(m.Calibration));
        Assert.Empty(ct.Ensemble.Problems());
        var report = File.ReadAllText(Path.Combine(outDirectory, "cv", "ct.md"));
        Assert.Contains("## Triage (cross-fitted)", report, StringComparison.Ordinal);

        // Test-time augmentation: the soft vote of each member's mean over the scan and its mirror image, beside the scan alone.
        var byFile = scores.GroupBy(s => s.File).ToList();
        string[] members = ["vgg16", "resnet50"];
        string Vote(params string[] variants) => Core.Evaluation.BinaryMetrics.AreaUnderRoc(
            [.. byFile.Select(g => g.First().IsCovid)],
            [.. byFile.Select(g => members.Average(m => g.Where(r => r.Model == m && variants.Contains(r.Variant)).Average(r => r.PCovid)))])
            .ToString("F3", CultureInfo.InvariantCulture);
        Assert.Contains($"| **ensemble** (soft vote) | {Vote("original")} | {Vote("original", "mirrored")} |", report, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }
}
