using CovidServerless.Training.Onnx;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

internal sealed class MaxPool(long kernel, long stride, long padding = 0) : Layer(nameof(MaxPool))
{
    public override Tensor forward(Tensor input) => nn.functional.max_pool2d(input, kernel, stride, padding);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) => graph.AddNode("MaxPool", [input],
        OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel),
        OnnxGraphBuilder.Ints("strides", stride, stride),
        OnnxGraphBuilder.Ints("pads", padding, padding, padding, padding));
}

/// <summary>Average pooling; zero padding counts towards the mean, as in PyTorch's and Keras' Inception.</summary>
internal sealed class AvgPool(long kernel, long stride, long padding = 0) : Layer(nameof(AvgPool))
{
    public override Tensor forward(Tensor input) =>
        nn.functional.avg_pool2d(input, kernel, stride, padding, ceil_mode: false, count_include_pad: true);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) => graph.AddNode("AveragePool", [input],
        OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel),
        OnnxGraphBuilder.Ints("strides", stride, stride),
        OnnxGraphBuilder.Ints("pads", padding, padding, padding, padding),
        OnnxGraphBuilder.Int("count_include_pad", 1));
}

/// <summary>Global average pooling to [N, C] (ONNX: GlobalAveragePool then Flatten).</summary>
internal sealed class GlobalAvgPoolFlatten() : Layer(nameof(GlobalAvgPoolFlatten))
{
    public override Tensor forward(Tensor input) => input.mean([2, 3]);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) =>
        graph.AddNode("Flatten", [graph.AddNode("GlobalAveragePool", [input])], OnnxGraphBuilder.Int("axis", 1));
}
