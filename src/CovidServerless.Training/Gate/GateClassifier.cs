using System.Diagnostics;
using CovidServerless.Training.Layers;
using CovidServerless.Training.Onnx;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static Onnx.TensorProto.Types;
using static TorchSharp.torch;

namespace CovidServerless.Training.Gate;

/// <summary>
/// The gate's candidate classifiers (chest X-ray / CT slice / other on a 32x32 grey thumbnail), trained with
/// TorchSharp and written as ONNX through the trainer's own layers, so the one definition trains and exports.
/// </summary>
internal static class GateClassifier
{
    public static readonly string[] Approaches = ["linear", "cnn"];

    public static Sequence Create(string approach) => approach switch
    {
        // Multinomial logistic regression on the thumbnail's pixels.
        "linear" => new Sequence(new Flatten(), new Dense(32 * 32, GateData.Classes.Length)),

        // Three conv blocks down to 4x4x32, so the layout (where the lungs or the body are) still counts.
        "cnn" => new Sequence(
            new Conv(1, 8, 3, padding: 1, bias: true), new Relu(), new MaxPool(2, 2),
            new Conv(8, 16, 3, padding: 1, bias: true), new Relu(), new MaxPool(2, 2),
            new Conv(16, 32, 3, padding: 1, bias: true), new Relu(), new MaxPool(2, 2),
            new Flatten(), new DropoutLayer(0.3), new Dense(32 * 4 * 4, GateData.Classes.Length)),
        _ => throw new ArgumentException($"Unknown gate approach '{approach}'.", nameof(approach)),
    };

    public static int Epochs(string approach) => approach == "linear" ? 60 : 30;

    /// <summary>
    /// Adam (lr 0.003, weight decay 1e-4, cosine decay), batch 64, class-balanced cross-entropy, random horizontal
    /// flips (a flipped radiograph is still a radiograph); a fixed number of epochs, since no data is held out to stop on.
    /// </summary>
    public static Sequence Train(string approach, IReadOnlyList<GateSample> samples, int seed)
    {
        torch.manual_seed(seed);
        torch.random.manual_seed(seed);
        var model = Create(approach);
        using var pixels = Pixels(samples);
        using var labels = tensor(samples.Select(s => (long)s.Class).ToArray());
        using var counts = bincount(labels, minlength: GateData.Classes.Length).to_type(ScalarType.Float32);
        using var weights = samples.Count / (GateData.Classes.Length * counts.clamp_min(1));
        using var optimizer = optim.Adam(model.parameters(), 0.003, weight_decay: 1e-4);
        var epochs = Epochs(approach);
        var n = samples.Count;
        const int batch = 64;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = 0.003 * 0.5 * (1 + Math.Cos(Math.PI * epoch / epochs));
            }

            model.train();
            using var order = randperm(n);
            for (long start = 0; start < n; start += batch)
            {
                using var scope = NewDisposeScope();
                var index = order.slice(0, start, Math.Min(start + batch, n), 1);
                var images = pixels.index_select(0, index);
                var flip = rand(index.shape[0]) < 0.5;
                images = where(flip.view(-1, 1, 1, 1), images.flip(3), images);
                var loss = nn.functional.cross_entropy(model.forward(images), labels.index_select(0, index), weights);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }

        model.eval();
        return model;
    }

    /// <summary>Class probabilities [N][3] in eval mode.</summary>
    public static float[][] Predict(Sequence model, IReadOnlyList<GateSample> samples)
    {
        model.eval();
        using var noGrad = no_grad();
        using var pixels = Pixels(samples);
        using var probabilities = nn.functional.softmax(model.forward(pixels), 1);
        var flat = probabilities.data<float>().ToArray();
        var classes = GateData.Classes.Length;
        return [.. Enumerable.Range(0, samples.Count).Select(i => flat.AsSpan(i * classes, classes).ToArray())];
    }

    /// <summary>Out-of-fold probabilities: each sample scored by the model trained on the folds without its patient group.</summary>
    public static (float[][] Probabilities, TimeSpan Elapsed) CrossValidate(string approach, IReadOnlyList<GateSample> samples, int folds, int seed, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        var fold = FoldOf(samples, folds, seed);
        var result = new float[samples.Count][];
        for (var k = 0; k < folds; k++)
        {
            var train = samples.Where((_, i) => fold[i] != k).ToList();
            var test = Enumerable.Range(0, samples.Count).Where(i => fold[i] == k).ToList();
            using var model = Train(approach, train, seed + k);
            var scores = Predict(model, [.. test.Select(i => samples[i])]);
            for (var j = 0; j < test.Count; j++)
            {
                result[test[j]] = scores[j];
            }

            log($"gate {approach}: fold {k + 1}/{folds} done ({train.Count} train, {test.Count} test) [{clock.Elapsed:mm\\:ss}]");
        }

        return (result, clock.Elapsed);
    }

    /// <summary>Folds by patient group: the groups in a seeded random order, dealt out in turn.</summary>
    public static int[] FoldOf(IReadOnlyList<GateSample> samples, int folds, int seed)
    {
        var groups = samples.Select(s => s.Group).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        new Random(seed).Shuffle(groups);
        var foldOfGroup = groups.Select((g, i) => (g, i % folds)).ToDictionary(p => p.g, p => p.Item2, StringComparer.Ordinal);
        return [.. samples.Select(s => foldOfGroup[s.Group])];
    }

    /// <summary>ONNX: input "input" float [N,1,32,32]; output "probabilities" float [N,3] (softmax; chest, ct, other).</summary>
    public static byte[] Export(Sequence model, string docString)
    {
        model.eval();
        var builder = new OnnxGraphBuilder();
        var graph = builder.Graph;
        var spec = GateData.Input;
        graph.Input.Add(TensorInfo(spec.Name, 1, spec.Height, spec.Width));
        var logits = model.EmitOnnx(builder, spec.Name);
        var softmax = builder.AddNode("Softmax", [logits], OnnxGraphBuilder.Int("axis", 1));
        graph.Node.Add(new NodeProto { OpType = "Identity", Name = OnnxExporter.OutputName, Input = { softmax }, Output = { OnnxExporter.OutputName } });
        graph.Output.Add(TensorInfo(OnnxExporter.OutputName, GateData.Classes.Length));
        var proto = new ModelProto { IrVersion = 8, ProducerName = "covidserverless-train", ProducerVersion = "1.0", DocString = docString, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return proto.ToByteArray();
    }

    private static Tensor Pixels(IReadOnlyList<GateSample> samples)
    {
        var perImage = GateData.Input.ElementsPerImage;
        var flat = new float[samples.Count * perImage];
        for (var i = 0; i < samples.Count; i++)
        {
            samples[i].Pixels.CopyTo(flat.AsSpan(i * perImage, perImage));
        }

        return tensor(flat, [samples.Count, 1, GateData.Input.Height, GateData.Input.Width]);
    }

    private static ValueInfoProto TensorInfo(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } },
        };
    }
}
