using System.Globalization;
using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Manifest;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Scores a modality's val folder with every model of the manifest (ONNX Runtime), soft-votes, reports AUCs and
/// writes the ensemble threshold: the value in 0.30..0.70 (step 0.05, coarse on purpose: 84-118 val images do not
/// support a finer choice) with the best balanced accuracy, ties going to the value closest to 0.5.
/// </summary>
internal static class EnsembleCommand
{
    public static void Run(string modality, string dataRoot, string outDirectory, Action<string> log)
    {
        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        var manifest = ManifestFile.LoadOrCreate(manifestPath);
        var entry = manifest.Modalities[modality];
        var val = ScanFolder.Open(Path.Combine(dataRoot, modality, "val"));
        var paths = val.Scans.Select(s => s.Path).ToArray();
        var isCovid = val.Scans.Select(s => s.Label == LabelledScan.Covid).ToArray();

        var perModel = new List<double[]>();
        foreach (var model in entry.Models)
        {
            using var scorer = new OnnxScorer(Path.Combine(outDirectory, model.File), model.Input, model.Output.Name, model.Output.CovidIndex);
            var scores = scorer.ScoreCovid(paths);
            perModel.Add(scores);
            log($"{modality}/{model.Name}: ONNX Runtime val AUC {BinaryMetrics.Auc(scores, isCovid):F4}, accuracy@0.5 {BinaryMetrics.Accuracy(scores, isCovid, 0.5):F4} (n={paths.Length})");
        }

        var ensemble = Enumerable.Range(0, paths.Length).Select(i => perModel.Average(s => s[i])).ToArray();
        var auc = BinaryMetrics.Auc(ensemble, isCovid);
        var candidates = Enumerable.Range(0, 9).Select(k => 0.30 + (0.05 * k)).ToArray();
        var threshold = candidates
            .OrderByDescending(t => Math.Round(BinaryMetrics.BalancedAccuracy(ensemble, isCovid, t), 6))
            .ThenBy(t => Math.Abs(t - 0.5))
            .First();
        threshold = Math.Round(threshold, 2);
        string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
        var rationale =
            $"Soft vote of {entry.Models.Count} models. Chosen on {modality}/val (n={paths.Length}, measured through ONNX Runtime): " +
            $"the threshold in 0.30..0.70 (step 0.05) with the best balanced accuracy, ties to the value nearest 0.5. " +
            $"Val ensemble AUC {F(auc)}; balanced accuracy {F(BinaryMetrics.BalancedAccuracy(ensemble, isCovid, threshold))} at {F(threshold)} " +
            $"vs {F(BinaryMetrics.BalancedAccuracy(ensemble, isCovid, 0.5))} at 0.5. Training used class-balanced loss, so 0.5 is the neutral prior.";
        ManifestFile.PutEnsemble(manifest, modality, new EnsembleRule { Rule = "soft-vote", Threshold = threshold, ThresholdRationale = rationale });
        ManifestFile.Save(manifest, manifestPath);
        log($"{modality}/ensemble: val AUC {auc:F4}, accuracy@{threshold:F2} {BinaryMetrics.Accuracy(ensemble, isCovid, threshold):F4}, " +
            $"accuracy@0.5 {BinaryMetrics.Accuracy(ensemble, isCovid, 0.5):F4}; threshold {threshold:F2}");
    }
}
