using CovidServerless.Training.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

/// <summary>2-D convolution with rectangular kernels (Inception's 1x7/7x1) and groups (Xception's depthwise convs).</summary>
internal sealed class Conv : Layer
{
    private readonly Conv2d conv;
    private readonly long kernelH, kernelW, stride, padH, padW, groups;

    public Conv(long inChannels, long outChannels, (long H, long W) kernel, long stride = 1, (long H, long W)? padding = null,
        long groups = 1, bool bias = false)
        : base(nameof(Conv))
    {
        (kernelH, kernelW) = kernel;
        (padH, padW) = padding ?? (0, 0);
        this.stride = stride;
        this.groups = groups;
        conv = nn.Conv2d(inChannels, outChannels, kernel, (stride, stride), (padH, padW), groups: groups, bias: bias);
        RegisterComponents();
    }

    public Conv(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, long groups = 1, bool bias = false)
        : this(inChannels, outChannels, (kernel, kernel), stride, (padding, padding), groups, bias)
    {
    }

    public override Tensor forward(Tensor input) => conv.forward(input);

    public override string EmitOnnx(OnnxGraphBuilder graph, string input)
    {
        var inputs = new List<string> { input, graph.AddInitializer("conv_w", ToArray(conv.weight!), conv.weight!.shape) };
        if (conv.bias is { } bias)
        {
            inputs.Add(graph.AddInitializer("conv_b", ToArray(bias), bias.shape));
        }

        return graph.AddNode("Conv", inputs,
            OnnxGraphBuilder.Ints("kernel_shape", kernelH, kernelW),
            OnnxGraphBuilder.Ints("strides", stride, stride),
            OnnxGraphBuilder.Ints("pads", padH, padW, padH, padW),
            OnnxGraphBuilder.Int("group", groups));
    }
}
