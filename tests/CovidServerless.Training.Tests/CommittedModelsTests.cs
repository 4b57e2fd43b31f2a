using System.Security.Cryptography;
using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;

namespace CovidServerless.Training.Tests;

/// <summary>
/// The models committed in models/ are intact and follow the contract, and every figure and triage parameter the manifest
/// states follows from the committed out-of-fold scores (models/cv), the only data that measured them.
/// </summary>
public sealed class CommittedModelsTests
{
    private static readonly string ModelsDirectory = Path.Combine(RepositoryPaths.Root, "models");

    [SkippableTheory]
    [InlineData("chest")]
    [InlineData("ct")]
    public void Every_committed_model_matches_its_sha256_and_separates_the_scans_it_was_trained_on(string modality)
    {
        var entry = Manifest().Modalities[modality];
        var valDirectory = Path.Combine(RepositoryPaths.Data(null), modality, "val");
        Skip.IfNot(Directory.Exists(valDirectory), $"shared data not found at {valDirectory} (set COVIDSERVERLESS_DATA to run this test)");

        Assert.Equal(["vgg16", "resnet50", "inceptionv3", "xception"], entry.Models.Select(m => m.Name));
        var val = ScanFolder.Open(valDirectory);
        var isCovid = val.Scans.Select(s => s.Label == LabelledScan.Covid).ToArray();
        foreach (var model in entry.Models)
        {
            var file = Path.Combine(ModelsDirectory, model.File);
            Assert.Equal(model.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
            using var scorer = new OnnxScorer(ModalityNames.Parse(modality), model, ModelsDirectory);
            // val is part of the committed models' training data: a check that the export works, not a quality figure.
            var auc = BinaryMetrics.Auc(scorer.ScoreCovid([.. val.Scans.Select(s => s.Path)]), isCovid);
            Assert.True(auc >= 0.8, $"{modality}/{model.Name}: AUC {auc:F3} on scans it was trained on");
        }
    }

    [SkippableTheory]
    [InlineData("chest")]
    [InlineData("ct")]
    public void Manifest_figures_and_triage_follow_from_the_committed_out_of_fold_scores(string modality)
    {
        var entry = Manifest().Modalities[modality];
        var oof = OutOfFoldScores.Read(OutOfFoldScores.PathFor(ModelsDirectory, modality));
        var original = oof.Where(r => r.Variant == OutOfFoldScores.Original).ToList();

        foreach (var model in entry.Models)
        {
            var own = original.Where(r => r.Model == model.Name).ToList();
            Assert.Equal(5, own.Select(r => r.Fold).Distinct().Count());
            var auc = BinaryMetrics.Auc([.. own.Select(r => r.PCovid)], [.. own.Select(r => r.IsCovid)]);
            Assert.Equal(model.Validation!["auc"]!.GetValue<double>(), Math.Round(auc, 4));
            Assert.Equal(own.Count, model.Validation["n"]!.GetValue<int>());
        }

        var scans = original.GroupBy(r => r.File).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ScanScores(g.Key, g.First().Fold, g.First().IsCovid, [.. entry.Models.Select(m => g.Single(r => r.Model == m.Name).PCovid)]))
            .ToList();
        var fitted = TriageFit.Fit(scans, entry.Ensemble.TargetSensitivity!.Value, CalibrateCommand.DefaultMinCoverage);
        Assert.Equal(Math.Round(fitted.Threshold, 6), entry.Ensemble.Threshold);
        Assert.Equal((fitted.Ensemble.Temperature, fitted.Ensemble.Bias), (entry.Ensemble.Calibration!.Temperature, entry.Ensemble.Calibration.Bias));
        Assert.Equal((fitted.Margin, fitted.MaxSpread), (entry.Ensemble.Abstain!.Margin, entry.Ensemble.Abstain.MaxSpread));
        Assert.Equal(fitted.Calibrations.Select(c => (c.Temperature, c.Bias)), entry.Models.Select(m => (m.Calibration!.Temperature, m.Calibration.Bias)));
    }

    private static ModelManifest Manifest()
    {
        var manifestPath = Path.Combine(ModelsDirectory, "manifest.json");
        Skip.IfNot(File.Exists(manifestPath), $"no committed models at {manifestPath}");
        return ModelManifest.Load(manifestPath);
    }
}
