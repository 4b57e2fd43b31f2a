using CovidServerless.Training.Layers;
using CovidServerless.Training.Onnx;
using static TorchSharp.torch;

namespace CovidServerless.Training.Architectures;

/// <summary>
/// A complete model: input adapter (NHWC 224 -> NCHW at the internal resolution), one of the four backbones,
/// and the seed's head (Flatten, Dropout 0.5, Dense 2, softmax), preceded by global average pooling so the head
/// stays small (2 x C weights) for a few hundred training images. Forward returns logits (index 0 = COVID);
/// the export appends the softmax.
/// </summary>
internal sealed class CovidClassifier : Layer
{
    public const int InputSize = 224;
    public const int Classes = 2;

    private readonly InputAdapter adapter;
    private readonly Layer backbone;
    private readonly GlobalAvgPoolFlatten pool;
    private readonly DropoutLayer dropout;
    private readonly Dense dense;

    public CovidClassifier(string architecture, double widthMultiplier, int internalResolution)
        : base(nameof(CovidClassifier))
    {
        if (InputSize % internalResolution != 0)
        {
            throw new ArgumentException($"Internal resolution must divide {InputSize} (e.g. 224, 112, 56).", nameof(internalResolution));
        }

        Architecture = architecture;
        WidthMultiplier = widthMultiplier;
        InternalResolution = internalResolution;
        adapter = new InputAdapter(InputSize / internalResolution);
        (backbone, FeatureCount) = Architectures.Architecture.BuildBackbone(architecture, widthMultiplier);
        pool = new GlobalAvgPoolFlatten();
        dropout = new DropoutLayer(0.5);
        dense = new Dense(FeatureCount, Classes);
        RegisterComponents();
    }

    public string Architecture { get; }

    public double WidthMultiplier { get; }

    public int InternalResolution { get; }

    /// <summary>Width of the pooled feature vector (what feature distillation aligns with the teacher).</summary>
    public long FeatureCount { get; }

    /// <summary>NHWC [N,224,224,3] in 0..1 -> logits [N,2].</summary>
    public override Tensor forward(Tensor input) => ForwardWithFeatures(input).Logits;

    public (Tensor Logits, Tensor Features) ForwardWithFeatures(Tensor input)
    {
        using var x = adapter.forward(input);
        using var maps = backbone.forward(x);
        var features = pool.forward(maps);
        var dropped = dropout.forward(features); // may be `features` itself in eval mode: not disposed here
        return (dense.forward(dropped), features);
    }

    public override string EmitOnnx(OnnxGraphBuilder graph, string input)
    {
        var x = adapter.EmitOnnx(graph, input);
        x = backbone.EmitOnnx(graph, x);
        x = pool.EmitOnnx(graph, x);
        x = dropout.EmitOnnx(graph, x);
        x = dense.EmitOnnx(graph, x);
        return graph.AddNode("Softmax", [x], OnnxGraphBuilder.Int("axis", 1));
    }
}
