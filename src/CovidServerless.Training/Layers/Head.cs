using CovidServerless.Training.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

/// <summary>Dropout; the identity at inference, so it emits nothing.</summary>
internal sealed class DropoutLayer : Layer
{
    private readonly Dropout dropout;

    public DropoutLayer(double probability)
        : base(nameof(DropoutLayer))
    {
        dropout = nn.Dropout(probability);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => dropout.forward(input);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) => input;
}

/// <summary>Fully connected layer on [N, in] (Keras' Dense); ONNX Gemm with the weight transposed.</summary>
internal sealed class Dense : Layer
{
    private readonly Linear linear;

    public Dense(long inFeatures, long outFeatures)
        : base(nameof(Dense))
    {
        linear = nn.Linear(inFeatures, outFeatures);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => linear.forward(input);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) => graph.AddNode("Gemm",
        [
            input,
            graph.AddInitializer("dense_w", ToArray(linear.weight!), linear.weight!.shape),
            graph.AddInitializer("dense_b", ToArray(linear.bias!), linear.bias!.shape),
        ],
        OnnxGraphBuilder.Int("transB", 1));
}

/// <summary>[N, C, H, W] to [N, C*H*W] in row-major order, as ONNX Flatten(axis 1) does.</summary>
internal sealed class Flatten() : Layer(nameof(Flatten))
{
    public override Tensor forward(Tensor input) => input.flatten(1);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) => graph.AddNode("Flatten", [input], OnnxGraphBuilder.Int("axis", 1));
}
