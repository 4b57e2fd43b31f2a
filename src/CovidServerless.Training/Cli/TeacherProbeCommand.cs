using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Training;
using static TorchSharp.torch;

namespace CovidServerless.Training.Cli;

/// <summary>
/// How much the ImageNet teacher knows about a modality: a logistic-regression probe on its 512 features, fit on
/// train, AUC on val. Context for the distillation comparison (what a student could at best inherit from it).
/// </summary>
internal static class TeacherProbeCommand
{
    public static double Run(string modality, string dataRoot, Action<string> log)
    {
        var train = ScanFolder.Open(Path.Combine(dataRoot, modality, "train"));
        var val = ScanFolder.Open(Path.Combine(dataRoot, modality, "val"));
        using var scope = NewDisposeScope();
        var (xTrain, yTrain) = Features(train);
        var (xVal, _) = Features(val);
        var mean = xTrain.mean([0], keepdim: true);
        var std = xTrain.std(0, keepdim: true) + 1e-6;
        xTrain = (xTrain - mean) / std;
        xVal = (xVal - mean) / std;

        manual_seed(42);
        var probe = nn.Linear(ImageNetTeacher.FeatureCount, 2);
        using var optimizer = optim.Adam(probe.parameters(), 1e-2, weight_decay: 1e-2);
        var weights = yTrain.shape[0] / (2 * bincount(yTrain, minlength: 2).to_type(ScalarType.Float32));
        for (var step = 0; step < 300; step++)
        {
            using var stepScope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(probe.forward(xTrain), yTrain, weights);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }

        using var noGrad = no_grad();
        var scores = nn.functional.softmax(probe.forward(xVal), 1).select(1, 0).data<float>().Select(p => (double)p).ToArray();
        var auc = BinaryMetrics.Auc(scores, [.. val.Scans.Select(s => s.Label == LabelledScan.Covid)]);
        log($"{modality}: ImageNet ResNet18 features + logistic regression (fit on train, n={train.Scans.Count}): val AUC {auc:F4} (n={val.Scans.Count})");
        return auc;
    }

    /// <summary>The teacher fine-tuned on train (all epochs, last kept), AUC of its own verdicts on val.</summary>
    public static double RunFineTuned(string modality, string dataRoot, TeacherOptions options, Action<string> log)
    {
        var (trainPixels, trainLabels) = ScanTensors.Load(ScanFolder.Open(Path.Combine(dataRoot, modality, "train")));
        var val = ScanFolder.Open(Path.Combine(dataRoot, modality, "val"));
        var (valPixels, valLabels) = ScanTensors.Load(val);
        using (trainPixels)
        using (trainLabels)
        using (valPixels)
        using (valLabels)
        {
            var targets = FineTunedTeacher.FineTune(trainPixels, trainLabels, valPixels, options, log);
            var auc = BinaryMetrics.Auc(targets.PCovid(), [.. val.Scans.Select(s => s.Label == LabelledScan.Covid)]);
            log($"{modality}: {options} on train (n={trainLabels.shape[0]}): val AUC {auc:F4} (n={val.Scans.Count})");
            return auc;
        }
    }

    /// <summary>
    /// The fine-tuned teacher under the students' protocol: patient-grouped folds of train + val pooled, each fold's
    /// teacher trained on the other folds; out-of-fold AUC overall and, on chest, against ieee8023's own non-COVID images.
    /// </summary>
    public static double RunCrossValidated(string modality, string dataRoot, string outDirectory, int folds, TeacherOptions options, Action<string> log)
    {
        var recipe = new TrainingOptions { Modality = modality, Architecture = "resnet18-teacher", Seed = options.Seed, Teacher = TeacherKind.FineTuned, FineTuning = options };
        var scores = CrossValidateCommand.RunTeacher(recipe, folds, dataRoot, outDirectory, log);
        var auc = BinaryMetrics.Auc([.. scores.Select(s => s.PCovid)], [.. scores.Select(s => s.IsCovid)]);
        log($"{modality}: {options}, {folds}-fold patient-grouped out-of-fold AUC {auc:F4} (n={scores.Count})");
        var ieee = scores.Where(s => s.IsCovid || Path.GetFileName(s.File).StartsWith("ieee8023_", StringComparison.Ordinal)).ToList();
        if (ieee.Any(s => !s.IsCovid))
        {
            log($"{modality}: all COVID vs ieee8023 non-COVID ({ieee.Count(s => s.IsCovid)} / {ieee.Count(s => !s.IsCovid)}): " +
                $"out-of-fold AUC {BinaryMetrics.Auc([.. ieee.Select(s => s.PCovid)], [.. ieee.Select(s => s.IsCovid)]):F4}");
        }

        return auc;
    }

    private static (Tensor X, Tensor Y) Features(ScanFolder folder)
    {
        var features = ImageNetTeacher.FeaturesFor(folder, RepositoryPaths.Cache);
        return (
            tensor(features.SelectMany(f => f).ToArray(), [features.Length, ImageNetTeacher.FeatureCount]),
            tensor(folder.Scans.Select(s => (long)s.Label).ToArray()));
    }
}
