using CovidServerless.Training.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

/// <summary>Batch normalisation; exported in inference form (running statistics).</summary>
internal sealed class BatchNorm : Layer
{
    // Keras' (and the seed's) epsilon; also keeps tiny-batch statistics stable on small data.
    private const double Epsilon = 1e-3;
    private readonly BatchNorm2d norm;

    public BatchNorm(long channels)
        : base(nameof(BatchNorm))
    {
        norm = nn.BatchNorm2d(channels, eps: Epsilon);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => norm.forward(input);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input)
    {
        long channels = norm.weight!.shape[0];
        return graph.AddNode("BatchNormalization",
            [
                input,
                graph.AddInitializer("bn_scale", ToArray(norm.weight!), channels),
                graph.AddInitializer("bn_bias", ToArray(norm.bias!), channels),
                graph.AddInitializer("bn_mean", ToArray(norm.running_mean!), channels),
                graph.AddInitializer("bn_var", ToArray(norm.running_var!), channels),
            ],
            OnnxGraphBuilder.Float("epsilon", (float)Epsilon));
    }
}
