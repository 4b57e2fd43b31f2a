using CovidServerless.Training.Onnx;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

internal sealed class Relu() : Layer(nameof(Relu))
{
    // Never in place: Xception and ResNet keep the pre-activation tensor for their shortcuts.
    public override Tensor forward(Tensor input) => nn.functional.relu(input);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) => graph.AddNode("Relu", [input]);
}
