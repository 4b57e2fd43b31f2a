using System.Diagnostics;
using CovidServerless.Training.Architectures;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CovidServerless.Training.Training;

/// <summary>The outcome of one training run: the best-on-validation model and how it got there.</summary>
internal sealed record TrainingResult(CovidClassifier Model, int EpochsRun, int BestEpoch, double BestValAuc, TimeSpan Elapsed);

/// <summary>
/// Trains one <see cref="CovidClassifier"/>. Given validation data it keeps the epoch with the best validation AUC
/// (early stopping); without, it runs every epoch and keeps the last (cross-validation folds and the final models,
/// where no data is left to choose an epoch on). Optional feature distillation: a training-only linear projection maps the student's pooled
/// features to the teacher's 512, and the loss adds the squared distance of the L2-normalised vectors
/// (= 2 - 2 cos). The teacher saw the un-augmented image, so this also asks the student for augmentation-invariant
/// features. The projection is not part of the exported model.
/// </summary>
internal sealed class Trainer(TrainingOptions options, Action<string> log)
{
    /// <summary>Softens both sides' verdicts in logit distillation (the loss is scaled by its square, as usual).</summary>
    public const double DistillTemperature = 2;

    public TrainingResult Train(ScanFolder trainFolder, ScanFolder? valFolder, TeacherTargets? teacherTargets)
    {
        var (trainPixels, trainLabels) = ScanTensors.Load(trainFolder);
        var val = valFolder is null ? default((Tensor, Tensor)?) : ScanTensors.Load(valFolder);
        try
        {
            return Train(trainPixels, trainLabels, val?.Item1, val?.Item2, teacherTargets);
        }
        finally
        {
            trainPixels.Dispose();
            trainLabels.Dispose();
            val?.Item1.Dispose();
            val?.Item2.Dispose();
        }
    }

    /// <summary>Trains on pixels [N,224,224,3] and labels [N]; the caller keeps ownership of the tensors.</summary>
    public TrainingResult Train(Tensor trainPixels, Tensor trainLabels, Tensor? valPixels, Tensor? valLabels, TeacherTargets? teacherTargets)
    {
        var stopwatch = Stopwatch.StartNew();
        torch.manual_seed(options.Seed);
        torch.random.manual_seed(options.Seed);
        var valIsCovid = valLabels?.data<long>().Select(l => l == LabelledScan.Covid).ToArray();
        if (options.UsesTeacher && teacherTargets is null)
        {
            throw new ArgumentException("The recipe distils from a teacher, but no teacher targets were given.");
        }

        var teacherFeatures = teacherTargets?.Features;
        using var teacher = teacherFeatures is null || options.TeacherWeight <= 0
            ? null
            : nn.functional.normalize(tensor(teacherFeatures.SelectMany(f => f).ToArray(), [teacherFeatures.Length, ImageNetTeacher.FeatureCount]), dim: 1);
        var teacherLogits = options.UsesLogits ? teacherTargets!.Logits : null;
        using var teacherVerdicts = teacherLogits is null
            ? null
            : nn.functional.softmax(tensor(teacherLogits.SelectMany(l => l).ToArray(), [teacherLogits.Length, 2]) / DistillTemperature, 1);

        var model = new CovidClassifier(options.Architecture, options.WidthMultiplier, options.InternalResolution);
        using var projection = nn.Linear(model.FeatureCount, ImageNetTeacher.FeatureCount);
        var parameters = model.parameters().Concat(teacher is not null ? projection.parameters() : []).ToList();
        using var optimizer = optim.Adam(parameters, options.LearningRate);
        var classWeights = ClassWeights(trainLabels);
        var augmenter = new Augmenter(options.Seed);
        var n = trainLabels.shape[0];

        double bestAuc = double.NegativeInfinity;
        var bestEpoch = 0;
        Dictionary<string, Tensor>? bestState = null;
        var epoch = 0;
        for (epoch = 1; epoch <= options.MaxEpochs && (valPixels is null || epoch - bestEpoch <= options.Patience); epoch++)
        {
            SetLearningRate(optimizer, epoch);
            model.train();
            double lossSum = 0, distillSum = 0, logitSum = 0;
            var batches = 0;
            using (var order = randperm(n))
            {
                for (long start = 0; start < n; start += options.BatchSize)
                {
                    using var scope = NewDisposeScope();
                    var index = order.slice(0, start, Math.Min(start + options.BatchSize, n), 1);
                    if (index.shape[0] < 2)
                    {
                        continue; // batch norm needs at least two samples
                    }

                    var images = augmenter.Apply(trainPixels.index_select(0, index));
                    var (logits, features) = model.ForwardWithFeatures(images);
                    var loss = nn.functional.cross_entropy(logits, trainLabels.index_select(0, index), classWeights);
                    if (teacher is not null)
                    {
                        var projected = nn.functional.normalize(projection.forward(features), dim: 1);
                        var distill = (projected - teacher.index_select(0, index)).pow(2).sum(1).mean();
                        distillSum += distill.item<float>();
                        loss = loss + (distill * options.TeacherWeight);
                    }

                    if (teacherVerdicts is not null)
                    {
                        // KL(teacher || student) of the softened verdicts.
                        var target = teacherVerdicts.index_select(0, index);
                        var student = nn.functional.log_softmax(logits / DistillTemperature, 1);
                        var kl = (target * (target.clamp_min(1e-8).log() - student)).sum(1).mean() * (DistillTemperature * DistillTemperature);
                        logitSum += kl.item<float>();
                        loss = loss + (kl * options.LogitWeight);
                    }

                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    lossSum += loss.item<float>();
                    batches++;
                }
            }

            var progress = $"{options.Modality}/{options.Architecture} epoch {epoch,3}/{options.MaxEpochs}  loss {lossSum / batches:F4}" +
                (teacher is not null ? $" (distill {distillSum / batches:F4})" : "") +
                (teacherVerdicts is not null ? $" (logits {logitSum / batches:F4})" : "");
            if (valPixels is null)
            {
                bestEpoch = epoch;
                log($"{progress}  [{stopwatch.Elapsed:mm\\:ss}]");
                continue;
            }

            var valScores = PredictCovid(model, valPixels);
            var auc = BinaryMetrics.Auc(valScores, valIsCovid!);
            var accuracy = BinaryMetrics.Accuracy(valScores, valIsCovid!, 0.5);
            var improved = auc > bestAuc;
            if (improved)
            {
                bestAuc = auc;
                bestEpoch = epoch;
                DisposeState(bestState);
                bestState = CloneState(model);
            }

            log($"{progress}  val AUC {auc:F4}  val acc {accuracy:F3}{(improved ? "  *best" : "")}  [{stopwatch.Elapsed:mm\\:ss}]");
        }

        if (bestState is not null)
        {
            model.load_state_dict(bestState);
            DisposeState(bestState);
        }

        model.eval();
        return new TrainingResult(model, epoch - 1, bestEpoch, valPixels is null ? double.NaN : bestAuc, stopwatch.Elapsed);
    }

    /// <summary>pCovid (softmax index 0) in eval mode.</summary>
    public static double[] PredictCovid(CovidClassifier model, Tensor pixels)
    {
        model.eval();
        using var noGrad = no_grad();
        var scores = new List<double>();
        for (long start = 0; start < pixels.shape[0]; start += 32)
        {
            using var scope = NewDisposeScope();
            var batch = pixels.slice(0, start, Math.Min(start + 32, pixels.shape[0]), 1);
            var probabilities = nn.functional.softmax(model.forward(batch), 1);
            scores.AddRange(probabilities.select(1, 0).data<float>().ToArray().Select(p => (double)p));
        }

        return [.. scores];
    }

    /// <summary>n / (2 n_c) per class, so both classes weigh the same in the loss.</summary>
    public static Tensor ClassWeights(Tensor labels)
    {
        var counts = bincount(labels, minlength: 2).to_type(ScalarType.Float32);
        return labels.shape[0] / (2 * counts);
    }

    private void SetLearningRate(OptimizerHelper optimizer, int epoch)
    {
        var rate = options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / options.MaxEpochs));
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = rate;
        }
    }

    private static Dictionary<string, Tensor> CloneState(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        foreach (var t in state?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}
