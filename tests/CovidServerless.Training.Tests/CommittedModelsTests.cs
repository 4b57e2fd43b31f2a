using System.Security.Cryptography;
using CovidServerless.Core.Models;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;

namespace CovidServerless.Training.Tests;

/// <summary>The models committed in models/ are intact, follow the contract, and are clearly better than chance on val.</summary>
public sealed class CommittedModelsTests
{
    private static readonly string ModelsDirectory = Path.Combine(RepositoryPaths.Root, "models");

    [SkippableTheory]
    [InlineData("chest")]
    [InlineData("ct")]
    public void Every_committed_model_matches_its_sha256_and_scores_val_clearly_above_chance(string modality)
    {
        var manifestPath = Path.Combine(ModelsDirectory, "manifest.json");
        Skip.IfNot(File.Exists(manifestPath), $"no committed models at {manifestPath}");
        var valDirectory = Path.Combine(RepositoryPaths.Data(null), modality, "val");
        Skip.IfNot(Directory.Exists(valDirectory), $"shared data not found at {valDirectory} (set COVIDSERVERLESS_DATA to run this test)");

        var entry = ModelManifest.Load(manifestPath).Modalities[modality];
        Assert.Equal(["vgg16", "resnet50", "inceptionv3", "xception"], entry.Models.Select(m => m.Name));
        var val = ScanFolder.Open(valDirectory);
        var isCovid = val.Scans.Select(s => s.Label == LabelledScan.Covid).ToArray();
        foreach (var model in entry.Models)
        {
            var file = Path.Combine(ModelsDirectory, model.File);
            Assert.Equal(model.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
            using var scorer = new OnnxScorer(file, model.Input, model.Output.Name, model.Output.CovidIndex);
            var auc = BinaryMetrics.Auc(scorer.ScoreCovid([.. val.Scans.Select(s => s.Path)]), isCovid);
            Assert.True(auc >= 0.7, $"{modality}/{model.Name}: val AUC {auc:F3}");
            Assert.Equal(model.Validation!["auc"]!.GetValue<double>(), Math.Round(auc, 4), 3);
        }
    }
}
