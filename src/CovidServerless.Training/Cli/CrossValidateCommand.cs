using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Patient-grouped k-fold cross-validation of one recipe on a modality's train + val pooled: for each fold and
/// architecture, trains on the other folds (all epochs, last kept: nothing is chosen on the held-out fold) and
/// scores the held-out fold as is, re-encoded as JPEG q75 and as PNG, and mirrored (test-time augmentation). The
/// scores go to models/cv/&lt;modality&gt;-oof.csv, from which <c>calibrate</c> fits temperatures, threshold and
/// abstention band, and reports.
/// </summary>
internal static class CrossValidateCommand
{
    public static readonly (string Name, SKEncodedImageFormat? Format, int Quality)[] Variants =
        [(OutOfFoldScores.Original, null, 0), ("jpeg75", SKEncodedImageFormat.Jpeg, 75), ("png", SKEncodedImageFormat.Png, 100)];

    /// <param name="cacheDirectory">Where teacher features and fine-tuned teachers are cached (default: the repository's .cache).</param>
    public static void Run(IReadOnlyList<TrainingOptions> recipes, int folds, string dataRoot, string outDirectory, Action<string> log, string? cacheDirectory = null)
    {
        cacheDirectory ??= RepositoryPaths.Cache;
        recipes = [.. recipes.Select(r => r with { EarlyStopping = false })];
        var modality = recipes[0].Modality;
        var (pooled, fold) = Folds(dataRoot, modality, folds, recipes[0].Seed);
        var path = OutOfFoldScores.PathFor(outDirectory, modality);
        OutOfFoldScores.Begin(path, $"{folds} folds by patient group (seed {recipes[0].Seed}); " +
            string.Join("; ", recipes.Select(r => $"{r.Architecture} width {r.WidthMultiplier}: {r.Recipe}")));
        var done = OutOfFoldScores.Read(path).Select(s => (s.Fold, s.Model)).ToHashSet();
        log($"{modality}: {pooled.Scans.Count} scans (train + val) in {folds} folds of " +
            string.Join("/", Enumerable.Range(0, folds).Select(k => fold.Count(f => f == k))) + $"; scores -> {path}");

        var imageNet = recipes.Any(r => r.UsesTeacher && r.Teacher == TeacherKind.ImageNet)
            ? new TeacherTargets(ImageNetTeacher.FeaturesFor(pooled, cacheDirectory), null)
            : null;
        var variants = Variants.Select(v => ScanTensors.Load(pooled.Scans, p => v.Format is { } format
            ? ScanTensors.PreprocessReencoded(p, format, v.Quality, ScanTensors.SeedInput)
            : ScanTensors.Preprocess(p, ScanTensors.SeedInput))).ToArray();
        var (pixels, labels) = variants[0];

        for (var k = 0; k < folds; k++)
        {
            var trainIndex = Enumerable.Range(0, fold.Length).Where(i => fold[i] != k).Select(i => (long)i).ToArray();
            var testIndex = Enumerable.Range(0, fold.Length).Where(i => fold[i] == k).ToArray();
            var fineTuned = new Dictionary<TeacherOptions, TeacherTargets>();
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
                var teacher = !recipe.UsesTeacher ? null
                    : recipe.Teacher == TeacherKind.ImageNet ? imageNet
                    : fineTuned.TryGetValue(recipe.FineTuning, out var known) ? known
                    : fineTuned[recipe.FineTuning] = FoldTeacher(recipe, pooled, k, folds, trainIndex, trainPixels, trainLabels, pixels, testIndex, dataRoot, outDirectory, cacheDirectory, log);
                var result = new Trainer(recipe, log)
                    .Train(trainPixels, trainLabels, null, null, teacher?.Select(trainIndex));
                using var model = result.Model;
                var rows = new List<OutOfFoldScore>();
                void Score(Tensor testPixels, string variant)
                {
                    var scores = Trainer.PredictCovid(model, testPixels);
                    rows.AddRange(testIndex.Select((i, j) => new OutOfFoldScore(RelativeFile(dataRoot, pooled.Scans[i].Path), k,
                        pooled.Scans[i].Label == LabelledScan.Covid, recipe.Architecture, variant, scores[j])));
                }

                for (var v = 0; v < Variants.Length; v++)
                {
                    using var testPixels = variants[v].Pixels.index_select(0, testIdx);
                    Score(testPixels, Variants[v].Name);
                }

                // The original mirrored left to right (NHWC: the width axis), for test-time augmentation.
                using (var testPixels = pixels.index_select(0, testIdx))
                using (var mirrored = testPixels.flip(2))
                {
                    Score(mirrored, OutOfFoldScores.Mirrored);
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

    /// <summary>Only the fine-tuned teachers of every fold (what <c>teacher-probe --fine-tune --folds</c> reports); their out-of-fold scores.</summary>
    public static List<OutOfFoldScore> RunTeacher(TrainingOptions recipe, int folds, string dataRoot, string outDirectory, Action<string> log, string? cacheDirectory = null)
    {
        var (pooled, fold) = Folds(dataRoot, recipe.Modality, folds, recipe.Seed);
        var (pixels, labels) = ScanTensors.Load(pooled);
        using (pixels)
        using (labels)
        {
            for (var k = 0; k < folds; k++)
            {
                var trainIndex = Enumerable.Range(0, fold.Length).Where(i => fold[i] != k).Select(i => (long)i).ToArray();
                using var trainIdx = tensor(trainIndex);
                using var trainPixels = pixels.index_select(0, trainIdx);
                using var trainLabels = labels.index_select(0, trainIdx);
                FoldTeacher(recipe, pooled, k, folds, trainIndex, trainPixels, trainLabels, pixels, [.. Enumerable.Range(0, fold.Length).Where(i => fold[i] == k)],
                    dataRoot, outDirectory, cacheDirectory ?? RepositoryPaths.Cache, log);
            }
        }

        return OutOfFoldScores.Read(TeacherScoresPath(outDirectory, recipe.Modality));
    }

    public static string TeacherScoresPath(string outDirectory, string modality) => Path.Combine(outDirectory, "cv", $"{modality}-teacher-oof.csv");

    /// <summary>
    /// The fine-tuned teacher of fold <paramref name="k"/>: trained on that fold's training scans only (cached), its
    /// targets for every scan; its own held-out verdicts go to &lt;out&gt;/cv/&lt;modality&gt;-teacher-oof.csv for the record.
    /// </summary>
    private static TeacherTargets FoldTeacher(TrainingOptions recipe, ScanFolder pooled, int k, int folds, long[] trainIndex, Tensor trainPixels, Tensor trainLabels,
        Tensor allPixels, int[] testIndex, string dataRoot, string outDirectory, string cacheDirectory, Action<string> log)
    {
        log($"{recipe.Modality}: fine-tuning the teacher of fold {k + 1}/{folds} on {trainIndex.Length} scans");
        var targets = FineTunedTeacher.FineTuneCached(cacheDirectory, recipe.Modality, pooled, trainIndex.Select(i => pooled.Scans[(int)i]),
            trainPixels, trainLabels, allPixels, recipe.FineTuning, log);
        var path = TeacherScoresPath(outDirectory, recipe.Modality);
        OutOfFoldScores.Begin(path, $"{folds} folds by patient group (seed {recipe.Seed}); {recipe.FineTuning}");
        if (!OutOfFoldScores.Read(path).Any(s => s.Fold == k))
        {
            var pCovid = targets.PCovid();
            var rows = testIndex.Select(i => new OutOfFoldScore(RelativeFile(dataRoot, pooled.Scans[i].Path), k,
                pooled.Scans[i].Label == LabelledScan.Covid, "resnet18-teacher", OutOfFoldScores.Original, pCovid[i])).ToList();
            OutOfFoldScores.Append(path, rows);
            log($"{recipe.Modality}: teacher of fold {k + 1}/{folds}: held-out AUC " +
                $"{BinaryMetrics.Auc([.. rows.Select(r => r.PCovid)], [.. rows.Select(r => r.IsCovid)]):F4}");
        }

        return targets;
    }

    /// <summary>A modality's train + val pooled and each scan's fold, by patient group (the same for every command and seed).</summary>
    private static (ScanFolder Pooled, int[] Fold) Folds(string dataRoot, string modality, int folds, int seed)
    {
        var pooled = Pooled(dataRoot, modality);
        var groups = DataManifest.Read(dataRoot).ToDictionary(r => r.File, r => r.Group);
        return (pooled, PatientFolds.Assign(pooled.Scans, s => groups.GetValueOrDefault(RelativeFile(dataRoot, s.Path)), folds, seed));
    }

    public static ScanFolder Pooled(string dataRoot, string modality) => ScanFolder.Pool(
        Path.Combine(dataRoot, modality),
        ScanFolder.Open(Path.Combine(dataRoot, modality, "train")),
        ScanFolder.Open(Path.Combine(dataRoot, modality, "val")));

    public static string RelativeFile(string dataRoot, string path) => Path.GetRelativePath(dataRoot, path).Replace('\\', '/');
}
