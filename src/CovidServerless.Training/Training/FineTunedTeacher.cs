using System.Diagnostics;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CovidServerless.Training.Training;

/// <summary>What a fine-tuned teacher says about every scan it is asked about (un-augmented): pooled features and logits.</summary>
internal sealed record TeacherTargets(float[][] Features, float[][]? Logits)
{
    /// <summary>The targets of the scans at <paramref name="index"/>, in that order.</summary>
    public TeacherTargets Select(IEnumerable<long> index) =>
        new([.. index.Select(i => Features[i])], Logits is null ? null : [.. index.Select(i => Logits[i])]);

    /// <summary>pCovid (softmax index 0) from the logits.</summary>
    public double[] PCovid() => [.. Logits!.Select(l => 1 / (1 + Math.Exp(l[1] - l[0])))];
}

/// <summary>
/// The package's ImageNet ResNet18, fine-tuned per modality as a teacher. Its ONNX graph (Conv, BatchNormalization,
/// Relu, MaxPool, Add, AveragePool, as CNTK exported it) is interpreted node by node with its initialisers as
/// trainable parameters, so no second definition has to match the file's layout; the package's preprocessing (RGB
/// 0..255 to BGR minus a mean image) runs first, and a new two-class head sits on the pooled features. Training-only:
/// nothing of it is exported or served.
/// </summary>
internal sealed class FineTunedTeacher : nn.Module<Tensor, (Tensor Logits, Tensor Features)>
{
    public const string Description = "ImageNet ResNet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1) fine-tuned per fold";

    private readonly List<NodeProto> nodes;
    private readonly string input;
    private readonly string output;
    private readonly Dictionary<string, Tensor> weights = [];
    private readonly Tensor meanImage;
    private readonly Linear head;
    private readonly int resolution;

    public FineTunedTeacher(string modelsDirectory, int resolution)
        : base(nameof(FineTunedTeacher))
    {
        // CNTK's asymmetric padding keeps the residual branches the same size only on multiples of 32.
        if (resolution <= 0 || resolution % 32 != 0)
        {
            throw new ArgumentException($"The teacher's resolution must be a multiple of 32 (224, 160, 128, ...), not {resolution}.");
        }

        this.resolution = resolution;
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(modelsDirectory, "ResNet18Onnx", "ResNet18.onnx"))).Graph;
        nodes = [.. graph.Node];
        input = graph.Input.Single().Name;
        output = graph.Output.Single().Name;
        var batchNormStatistics = nodes.Where(n => n.OpType == "BatchNormalization").SelectMany(n => n.Input.Skip(3)).ToHashSet();
        foreach (var initializer in graph.Initializer)
        {
            var value = tensor(initializer.FloatData.ToArray(), [.. initializer.Dims]);
            // Running statistics are buffers (updated in training mode, not by the optimiser); the rest is learnt.
            if (batchNormStatistics.Contains(initializer.Name))
            {
                register_buffer(initializer.Name, value);
                weights[initializer.Name] = value;
            }
            else
            {
                var parameter = new Parameter(value);
                register_parameter(initializer.Name, parameter);
                weights[initializer.Name] = parameter;
            }
        }

        var prep = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(modelsDirectory, "ResNetPrepOnnx", "ResNetPreprocess.onnx"))).Graph;
        var mean = prep.Initializer.Single(i => i.Name == "MeanImage");
        using var fullMean = tensor(mean.FloatData.ToArray(), [.. mean.Dims]);
        meanImage = resolution == fullMean.shape[3] ? fullMean.clone() : nn.functional.adaptive_avg_pool2d(fullMean, [resolution, resolution]);
        register_buffer("mean_image", meanImage);
        head = nn.Linear(ImageNetTeacher.FeatureCount, 2);
        register_module("head", head);
    }

    /// <summary>NHWC RGB in 0..1 at 224 (the seed's tensors) in; logits [N,2] and pooled features [N,512] out.</summary>
    public override (Tensor Logits, Tensor Features) forward(Tensor nhwc)
    {
        var x = nhwc.permute(0, 3, 1, 2);
        if (x.shape[3] != resolution)
        {
            x = nn.functional.adaptive_avg_pool2d(x, [resolution, resolution]);
        }

        using (var bgr = tensor(new long[] { 2, 1, 0 }))
        {
            x = (x.index_select(1, bgr) * 255f) - meanImage;
        }

        var values = new Dictionary<string, Tensor> { [input] = x };
        foreach (var node in nodes)
        {
            values[node.Output[0]] = Run(node, values);
        }

        var features = values[output].flatten(1);
        return (head.forward(features), features);
    }

    private Tensor Run(NodeProto node, Dictionary<string, Tensor> values)
    {
        var x = values[node.Input[0]];
        switch (node.OpType)
        {
            case "Conv":
                {
                    var strides = Ints(node, "strides");
                    var padded = Pad(x, Ints(node, "pads"), 0);
                    return nn.functional.conv2d(padded, weights[node.Input[1]], strides: strides);
                }

            case "BatchNormalization":
                return nn.functional.batch_norm(x, weights[node.Input[3]], weights[node.Input[4]], weights[node.Input[1]], weights[node.Input[2]],
                    training, 0.1, Float(node, "epsilon"));
            case "Relu":
                return nn.functional.relu(x);
            case "Add":
                return x + values[node.Input[1]];
            case "MaxPool":
                return nn.functional.max_pool2d(Pad(x, Ints(node, "pads"), double.NegativeInfinity), Ints(node, "kernel_shape"), Ints(node, "strides"));
            case "AveragePool":
                // Global at 224 (7x7 kernel on 7x7); global at any resolution so a lower one can be used.
                return x.mean([2, 3], keepdim: true);
            default:
                throw new NotSupportedException($"The teacher's graph has an operator this interpreter does not run: {node.OpType}.");
        }
    }

    /// <summary>ONNX pads are [top, left, bottom, right] (CNTK's are asymmetric); torch's pad takes [left, right, top, bottom].</summary>
    private static Tensor Pad(Tensor x, long[] pads, double value) =>
        pads.All(p => p == 0) ? x : nn.functional.pad(x, [pads[1], pads[3], pads[0], pads[2]], PaddingModes.Constant, value);

    private static long[] Ints(NodeProto node, string name) => [.. node.Attribute.Single(a => a.Name == name).Ints];

    private static double Float(NodeProto node, string name) => node.Attribute.Single(a => a.Name == name).F;

    /// <summary>
    /// Fine-tunes a fresh copy of the ImageNet weights on pixels [N,224,224,3] / labels [N] (all epochs, last kept,
    /// the students' augmentation and class weights), then returns its targets for <paramref name="targetPixels"/>.
    /// </summary>
    public static TeacherTargets FineTune(Tensor pixels, Tensor labels, Tensor targetPixels, TeacherOptions options, Action<string> log)
    {
        var stopwatch = Stopwatch.StartNew();
        torch.manual_seed(options.Seed);
        torch.random.manual_seed(options.Seed);
        using var teacher = new FineTunedTeacher(ImageNetTeacher.DefaultModelsDirectory, options.Resolution);
        using var optimizer = optim.Adam(teacher.parameters(), options.LearningRate);
        using var classWeights = Trainer.ClassWeights(labels);
        var augmenter = new Augmenter(options.Seed);
        var n = labels.shape[0];
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var rate = options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / options.Epochs));
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = rate;
            }

            teacher.train();
            double lossSum = 0;
            var batches = 0;
            using var order = randperm(n);
            for (long start = 0; start < n; start += options.BatchSize)
            {
                using var scope = NewDisposeScope();
                var index = order.slice(0, start, Math.Min(start + options.BatchSize, n), 1);
                if (index.shape[0] < 2)
                {
                    continue;
                }

                var (logits, _) = teacher.forward(augmenter.Apply(pixels.index_select(0, index)));
                var loss = nn.functional.cross_entropy(logits, labels.index_select(0, index), classWeights);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
            }

            log($"teacher epoch {epoch,2}/{options.Epochs}  loss {lossSum / batches:F4}  [{stopwatch.Elapsed:mm\\:ss}]");
        }

        return teacher.Targets(targetPixels);
    }

    /// <summary>Logits and features in eval mode, un-augmented.</summary>
    public TeacherTargets Targets(Tensor pixels)
    {
        eval();
        using var noGrad = no_grad();
        var features = new List<float[]>();
        var logits = new List<float[]>();
        for (long start = 0; start < pixels.shape[0]; start += 32)
        {
            using var scope = NewDisposeScope();
            var (l, f) = forward(pixels.slice(0, start, Math.Min(start + 32, pixels.shape[0]), 1));
            features.AddRange(f.data<float>().ToArray().Chunk(ImageNetTeacher.FeatureCount));
            logits.AddRange(l.data<float>().ToArray().Chunk(2));
        }

        return new TeacherTargets([.. features], [.. logits]);
    }

    /// <summary>
    /// <see cref="FineTune"/> on <paramref name="trainedOn"/> (the scans of <paramref name="pixels"/>), targets for every
    /// scan of <paramref name="target"/>, cached on disk by both lists of scans (content and label, in order) and the
    /// options, so resumed cross-validation does not repeat it and changed data or folds never reuse it.
    /// </summary>
    public static TeacherTargets FineTuneCached(string cacheDirectory, string modality, ScanFolder target, IEnumerable<LabelledScan> trainedOn,
        Tensor pixels, Tensor labels, Tensor targetPixels, TeacherOptions options, Action<string> log)
    {
        var trainedOnKey = ScanFolder.RowsKeyOf(trainedOn);
        var file = Path.Combine(cacheDirectory, $"teacher-ft-{modality}-{target.RowsKey[..16]}-on-{trainedOnKey[..16]}-{options.Key}.bin");
        var rows = FloatRowsCache.Read(file, (int)targetPixels.shape[0], ImageNetTeacher.FeatureCount + 2);
        if (rows is null)
        {
            var computed = FineTune(pixels, labels, targetPixels, options, log);
            rows = FloatRowsCache.Write(file, [.. computed.Features.Zip(computed.Logits!, (f, l) => f.Concat(l).ToArray())]);
        }

        return new TeacherTargets([.. rows.Select(r => r[..ImageNetTeacher.FeatureCount])], [.. rows.Select(r => r[ImageNetTeacher.FeatureCount..])]);
    }
}

/// <summary>How the teacher is fine-tuned (part of every student's recipe that uses it).</summary>
internal sealed record TeacherOptions(int Epochs = 8, int Resolution = 224, double LearningRate = 1e-4, int BatchSize = 32, int Seed = 42)
{
    public string Key => $"e{Epochs}-r{Resolution}-lr{LearningRate:G3}-b{BatchSize}-s{Seed}";

    public override string ToString() =>
        $"{FineTunedTeacher.Description} ({Epochs} epochs at {Resolution} px, Adam lr {LearningRate} cosine, batch {BatchSize}, the students' augmentation)";
}
