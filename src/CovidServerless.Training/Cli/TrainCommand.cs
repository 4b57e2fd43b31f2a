using System.Globalization;
using System.Security.Cryptography;
using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Manifest;
using CovidServerless.Training.Onnx;
using CovidServerless.Training.Training;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Trains one model, exports it to &lt;out&gt;/&lt;modality&gt;/&lt;arch&gt;.onnx and records it in the manifest. Either on
/// train with early stopping on val (measured through ONNX Runtime on val), or, for the committed models, on train + val
/// pooled with every epoch run and the last kept: their figures are the cross-validation's, written by <c>calibrate</c>.
/// </summary>
internal static class TrainCommand
{
    public static ModelEntry Run(TrainingOptions options, string dataRoot, string outDirectory, Action<string> log, bool pooled = false)
    {
        options = pooled ? options with { EarlyStopping = false } : options;
        var train = pooled ? CrossValidateCommand.Pooled(dataRoot, options.Modality) : ScanFolder.Open(Path.Combine(dataRoot, options.Modality, "train"));
        var val = pooled ? null : ScanFolder.Open(Path.Combine(dataRoot, options.Modality, "val"));
        log($"{options.Modality}/{options.Architecture}: {train.Scans.Count} {(pooled ? "train + val" : "train")} ({train.CovidCount} covid)" +
            (val is null ? "" : $", {val.Scans.Count} val ({val.CovidCount} covid)") +
            $"; width {options.WidthMultiplier}, resolution {options.InternalResolution}, seed {options.Seed}, teacher {options.TeacherDescription}");
        var result = new Trainer(options, log).Train(train, val, Teacher(options, train, log));
        using var model = result.Model;

        var relativeFile = $"{options.Modality}/{options.Architecture}.onnx";
        var onnxPath = Path.Combine(outDirectory, relativeFile);
        Directory.CreateDirectory(Path.GetDirectoryName(onnxPath)!);
        File.WriteAllBytes(onnxPath, OnnxExporter.Export(model, $"{options.Modality} {options.Architecture}: {options.Recipe}"));

        if (val is null)
        {
            return Record(options, train, outDirectory, onnxPath, relativeFile, result, ExportCheck(options.Modality, model, train, onnxPath, log), $"{options.Modality}/train + {options.Modality}/val");
        }

        // The figures that go in the manifest come from the exported file, through ONNX Runtime and the core preprocessing.
        var isCovid = val.Scans.Select(s => s.Label == LabelledScan.Covid).ToArray();
        using var scorer = OnnxScorer.ForExport(options.Modality, onnxPath);
        var scores = scorer.ScoreCovid([.. val.Scans.Select(s => s.Path)]);
        var auc = BinaryMetrics.Auc(scores, isCovid);
        var accuracy = BinaryMetrics.Accuracy(scores, isCovid, 0.5);
        log($"{options.Modality}/{options.Architecture}: best epoch {result.BestEpoch} of {result.EpochsRun} in {result.Elapsed:mm\\:ss}; " +
            $"torch val AUC {result.BestValAuc:F4}; ONNX Runtime val AUC {auc:F4}, accuracy@0.5 {accuracy:F4} -> {onnxPath}");
        return Record(options, train, outDirectory, onnxPath, relativeFile, result,
            ManifestFile.ToJson(new ValidationRecord($"{options.Modality}/val", Math.Round(auc, 4), Math.Round(accuracy, 4), val.Scans.Count)),
            $"{options.Modality}/train");
    }

    /// <summary>The teacher's targets for every training scan: the ImageNet features, or a teacher fine-tuned on these scans (cached).</summary>
    private static TeacherTargets? Teacher(TrainingOptions options, ScanFolder train, Action<string> log)
    {
        if (!options.UsesTeacher)
        {
            return null;
        }

        if (options.Teacher == TeacherKind.ImageNet)
        {
            return new TeacherTargets(ImageNetTeacher.FeaturesFor(train, RepositoryPaths.Cache), null);
        }

        var (pixels, labels) = ScanTensors.Load(train);
        using (pixels)
        using (labels)
        {
            return FineTunedTeacher.FineTuneCached(RepositoryPaths.Cache, options.Modality, train, train.Scans, pixels, labels, pixels, options.FineTuning, log);
        }
    }

    /// <summary>
    /// The exported graph must compute what torch computed: pCovid of up to 32 training scans through ONNX Runtime and the
    /// core preprocessing against torch's, within 1e-3. Returns the manifest's placeholder validation until <c>calibrate</c> writes it.
    /// </summary>
    private static System.Text.Json.Nodes.JsonObject ExportCheck(string modality, Architectures.CovidClassifier model, ScanFolder train, string onnxPath, Action<string> log)
    {
        var sample = train.Scans.Take(32).ToList();
        var (pixels, labels) = ScanTensors.Load(sample, p => ScanTensors.Preprocess(p, ScanTensors.SeedInput));
        using (pixels)
        using (labels)
        {
            var torchScores = Trainer.PredictCovid(model, pixels);
            using var scorer = OnnxScorer.ForExport(modality, onnxPath);
            var onnxScores = scorer.ScoreCovid([.. sample.Select(s => s.Path)]);
            var gap = torchScores.Zip(onnxScores, (a, b) => Math.Abs(a - b)).Max();
            log($"{onnxPath}: ONNX Runtime and torch agree on {sample.Count} training scans within {gap:E1}");
            if (gap > 1e-3)
            {
                throw new InvalidOperationException($"{onnxPath}: ONNX Runtime and torch differ by {gap} on a training scan; the export is wrong.");
            }
        }

        return new System.Text.Json.Nodes.JsonObject { ["data"] = "pending: covidserverless-train calibrate writes the cross-validated figures" };
    }

    private static ModelEntry Record(TrainingOptions options, ScanFolder train, string outDirectory, string onnxPath, string relativeFile,
        TrainingResult result, System.Text.Json.Nodes.JsonObject validation, string dataName)
    {
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
                Data: $"{dataName} ({train.Scans.Count} images, sha256 of sorted file hashes {train.Fingerprint})",
                Recipe: $"{options.Recipe}; ran {result.EpochsRun} epochs, kept epoch {result.BestEpoch} ({result.Elapsed.TotalMinutes:F1} min on 2 CPU cores)",
                Seed: options.Seed,
                Epochs: result.BestEpoch,
                WidthMultiplier: options.WidthMultiplier,
                Teacher: options.TeacherDescription,
                TrainedAt: DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))),
            Validation = validation,
        };

        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        var manifest = ManifestFile.LoadOrCreate(manifestPath);
        ManifestFile.PutModel(manifest, options.Modality, entry);
        ManifestFile.Save(manifest, manifestPath);
        return entry;
    }
}
