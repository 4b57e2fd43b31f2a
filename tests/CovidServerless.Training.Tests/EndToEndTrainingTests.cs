using System.Security.Cryptography;
using CovidServerless.Core.Models;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Training;

namespace CovidServerless.Training.Tests;

/// <summary>Train -> export -> load in ONNX Runtime -> score, on a tiny synthetic dataset.</summary>
[Collection(TorchTraining.Name)]
public sealed class EndToEndTrainingTests : IDisposable
{
    private readonly string workDirectory = Path.Combine(Path.GetTempPath(), "covidserverless-train-e2e-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Trained_model_is_exported_recorded_in_the_manifest_and_separates_the_classes_in_onnx_runtime()
    {
        var dataRoot = Path.Combine(workDirectory, "data");
        SyntheticScans.Create(Path.Combine(dataRoot, "ct"), trainPerClass: 40, valPerClass: 10, seed: 3);
        var outDirectory = Path.Combine(workDirectory, "models");
        var options = new TrainingOptions
        {
            Modality = "ct",
            Architecture = "vgg16",
            WidthMultiplier = 0.125,
            InternalResolution = 56,
            MaxEpochs = 10,
            Patience = 10,
            BatchSize = 10, // 80 steps: enough for batch norm's running statistics to settle
            LearningRate = 3e-3,
            TeacherWeight = 1, // exercises the ImageNet teacher path as well
        };

        var entry = TrainCommand.Run(options, dataRoot, outDirectory, _ => { });

        var onnxPath = Path.Combine(outDirectory, "ct", "vgg16.onnx");
        Assert.True(File.Exists(onnxPath));
        var manifest = ModelManifest.Load(Path.Combine(outDirectory, "manifest.json")); // the core library's reader
        var recorded = Assert.Single(manifest.Modalities["ct"].Models);
        Assert.Equal((entry.Name, entry.Sha256), (recorded.Name, recorded.Sha256));
        Assert.Equal("ct/vgg16.onnx", recorded.File);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnxPath))), recorded.Sha256);
        Assert.Equal(("input", TensorLayout.NHWC, 224, "probabilities", 0), (recorded.Input.Name, recorded.Input.Layout, recorded.Input.Width, recorded.Output.Name, recorded.Output.CovidIndex));
        Assert.Equal(20, recorded.Validation!["n"]!.GetValue<int>());
        Assert.Contains("ResNet18", recorded.Training!["teacher"]!.GetValue<string>(), StringComparison.Ordinal);

        // Score the val images again with a fresh ONNX Runtime session: probabilities, separating the classes.
        var val = ScanFolder.Open(Path.Combine(dataRoot, "ct", "val"));
        using var scorer = OnnxScorer.ForExport("ct", onnxPath);
        var scores = scorer.ScoreCovid([.. val.Scans.Select(s => s.Path)]);
        Assert.All(scores, p => Assert.InRange(p, 0.0, 1.0));
        var auc = BinaryMetrics.Auc(scores, [.. val.Scans.Select(s => s.Label == LabelledScan.Covid)]);
        Assert.True(auc >= 0.9, $"val AUC {auc:F3} on an easy synthetic task");
        Assert.Equal(recorded.Validation["auc"]!.GetValue<double>(), Math.Round(auc, 4));
    }

    public void Dispose()
    {
        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }
}
