using System.Globalization;
using System.Security.Cryptography;
using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Manifest;
using CovidServerless.Training.Onnx;
using CovidServerless.Training.Training;

namespace CovidServerless.Training.Cli;

/// <summary>Trains one model, exports it to &lt;out&gt;/&lt;modality&gt;/&lt;arch&gt;.onnx, measures it through ONNX Runtime on val, records it in the manifest.</summary>
internal static class TrainCommand
{
    public static ModelEntry Run(TrainingOptions options, string dataRoot, string outDirectory, Action<string> log)
    {
        var train = ScanFolder.Open(Path.Combine(dataRoot, options.Modality, "train"));
        var val = ScanFolder.Open(Path.Combine(dataRoot, options.Modality, "val"));
        log($"{options.Modality}/{options.Architecture}: {train.Scans.Count} train ({train.CovidCount} covid), {val.Scans.Count} val ({val.CovidCount} covid); " +
            $"width {options.WidthMultiplier}, resolution {options.InternalResolution}, seed {options.Seed}, teacher weight {options.TeacherWeight}");
        var teacherFeatures = options.UsesTeacher ? ImageNetTeacher.FeaturesFor(train, RepositoryPaths.Cache) : null;

        var result = new Trainer(options, log).Train(train, val, teacherFeatures);
        using var model = result.Model;

        var relativeFile = $"{options.Modality}/{options.Architecture}.onnx";
        var onnxPath = Path.Combine(outDirectory, relativeFile);
        Directory.CreateDirectory(Path.GetDirectoryName(onnxPath)!);
        File.WriteAllBytes(onnxPath, OnnxExporter.Export(model, $"{options.Modality} {options.Architecture}: {options.Recipe}"));

        // The figures that go in the manifest come from the exported file, through ONNX Runtime and the core preprocessing.
        var isCovid = val.Scans.Select(s => s.Label == LabelledScan.Covid).ToArray();
        using var scorer = new OnnxScorer(onnxPath, ScanTensors.SeedInput);
        var scores = scorer.ScoreCovid([.. val.Scans.Select(s => s.Path)]);
        var auc = BinaryMetrics.Auc(scores, isCovid);
        var accuracy = BinaryMetrics.Accuracy(scores, isCovid, 0.5);
        log($"{options.Modality}/{options.Architecture}: best epoch {result.BestEpoch} of {result.EpochsRun} in {result.Elapsed:mm\\:ss}; " +
            $"torch val AUC {result.BestValAuc:F4}; ONNX Runtime val AUC {auc:F4}, accuracy@0.5 {accuracy:F4} -> {onnxPath}");

        var entry = new ModelEntry
        {
            Name = options.Architecture,
            Architecture = options.Architecture,
            Version = "1.0.0",
            File = relativeFile,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnxPath))),
            Input = ScanTensors.SeedInput,
            Output = new ModelOutputSpec { Name = OnnxExporter.OutputName, CovidIndex = OnnxExporter.CovidIndex, Kind = OutputKind.Probabilities, Heatmap = CamHead.OutputName },
            Training = ManifestFile.ToJson(new TrainingRecord(
                Data: $"{options.Modality}/train ({train.Scans.Count} images, sha256 of sorted file hashes {train.Fingerprint})",
                Recipe: $"{options.Recipe}; ran {result.EpochsRun} epochs, kept epoch {result.BestEpoch} ({result.Elapsed.TotalMinutes:F1} min on 2 CPU cores)",
                Seed: options.Seed,
                Epochs: result.BestEpoch,
                WidthMultiplier: options.WidthMultiplier,
                Teacher: options.UsesTeacher ? ImageNetTeacher.Description : "none (trained from scratch)",
                TrainedAt: DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))),
            Validation = ManifestFile.ToJson(new ValidationRecord($"{options.Modality}/val", Math.Round(auc, 4), Math.Round(accuracy, 4), val.Scans.Count)),
        };

        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        var manifest = ManifestFile.LoadOrCreate(manifestPath);
        ManifestFile.PutModel(manifest, options.Modality, entry);
        ManifestFile.Save(manifest, manifestPath);
        return entry;
    }
}
