using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Patient-grouped k-fold cross-validation of one recipe on a modality's train + val pooled: for each fold and
/// architecture, trains on the other folds (all epochs, last kept: nothing is chosen on the held-out fold) and
/// scores the held-out fold as is, re-encoded as JPEG q75 and as PNG. The scores go to models/cv/&lt;modality&gt;-oof.csv,
/// from which <c>calibrate</c> fits temperatures, threshold and abstention band, and reports.
/// </summary>
internal static class CrossValidateCommand
{
    public static readonly (string Name, SKEncodedImageFormat? Format, int Quality)[] Variants =
        [(OutOfFoldScores.Original, null, 0), ("jpeg75", SKEncodedImageFormat.Jpeg, 75), ("png", SKEncodedImageFormat.Png, 100)];

    public static void Run(IReadOnlyList<TrainingOptions> recipes, int folds, string dataRoot, string outDirectory, Action<string> log)
    {
        recipes = [.. recipes.Select(r => r with { EarlyStopping = false })];
        var modality = recipes[0].Modality;
        var pooled = Pooled(dataRoot, modality);
        var groups = DataManifest.Read(dataRoot).ToDictionary(r => r.File, r => r.Group);
        var fold = PatientFolds.Assign(pooled.Scans, s => groups.GetValueOrDefault(RelativeFile(dataRoot, s.Path)), folds, recipes[0].Seed);
        var path = OutOfFoldScores.PathFor(outDirectory, modality);
        OutOfFoldScores.Begin(path, $"{folds} folds by patient group (seed {recipes[0].Seed}); " +
            string.Join("; ", recipes.Select(r => $"{r.Architecture} width {r.WidthMultiplier}: {r.Recipe}")));
        var done = OutOfFoldScores.Read(path).Select(s => (s.Fold, s.Model)).ToHashSet();
        log($"{modality}: {pooled.Scans.Count} scans (train + val) in {folds} folds of " +
            string.Join("/", Enumerable.Range(0, folds).Select(k => fold.Count(f => f == k))) + $"; scores -> {path}");

        var teacher = recipes.Any(r => r.UsesTeacher) ? ImageNetTeacher.FeaturesFor(pooled, RepositoryPaths.Cache) : null;
        var variants = Variants.Select(v => ScanTensors.Load(pooled.Scans, p => v.Format is { } format
            ? ScanTensors.PreprocessReencoded(p, format, v.Quality, ScanTensors.SeedInput)
            : ScanTensors.Preprocess(p, ScanTensors.SeedInput))).ToArray();
        var (pixels, labels) = variants[0];

        for (var k = 0; k < folds; k++)
        {
            var trainIndex = Enumerable.Range(0, fold.Length).Where(i => fold[i] != k).Select(i => (long)i).ToArray();
            var testIndex = Enumerable.Range(0, fold.Length).Where(i => fold[i] == k).ToArray();
            foreach (var recipe in recipes)
            {
                if (done.Contains((k, recipe.Architecture)))
                {
                    continue;
                }

                log($"{modality}/{recipe.Architecture} fold {k + 1}/{folds}: training on {trainIndex.Length}, scoring {testIndex.Length}");
                using var trainIdx = tensor(trainIndex);
                using var testIdx = tensor(testIndex.Select(i => (long)i).ToArray());
                using var trainPixels = pixels.index_select(0, trainIdx);
                using var trainLabels = labels.index_select(0, trainIdx);
                var result = new Trainer(recipe, log)
                    .Train(trainPixels, trainLabels, null, null, teacher is null ? null : [.. trainIndex.Select(i => teacher[i])]);
                using var model = result.Model;
                var rows = new List<OutOfFoldScore>();
                for (var v = 0; v < Variants.Length; v++)
                {
                    using var testPixels = variants[v].Pixels.index_select(0, testIdx);
                    var scores = Trainer.PredictCovid(model, testPixels);
                    rows.AddRange(testIndex.Select((i, j) => new OutOfFoldScore(RelativeFile(dataRoot, pooled.Scans[i].Path), k,
                        pooled.Scans[i].Label == LabelledScan.Covid, recipe.Architecture, Variants[v].Name, scores[j])));
                }

                OutOfFoldScores.Append(path, rows);
                var original = rows.Where(r => r.Variant == OutOfFoldScores.Original).ToList();
                log($"{modality}/{recipe.Architecture} fold {k + 1}/{folds}: held-out AUC " +
                    $"{BinaryMetrics.Auc([.. original.Select(r => r.PCovid)], [.. original.Select(r => r.IsCovid)]):F4} ({result.Elapsed:mm\\:ss})");
            }
        }

        foreach (var (p, l) in variants)
        {
            p.Dispose();
            l.Dispose();
        }
    }

    public static ScanFolder Pooled(string dataRoot, string modality) => ScanFolder.Pool(
        Path.Combine(dataRoot, modality),
        ScanFolder.Open(Path.Combine(dataRoot, modality, "train")),
        ScanFolder.Open(Path.Combine(dataRoot, modality, "val")));

    public static string RelativeFile(string dataRoot, string path) => Path.GetRelativePath(dataRoot, path).Replace('\\', '/');
}
