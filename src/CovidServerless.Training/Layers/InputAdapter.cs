using CovidServerless.Training.Onnx;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

/// <summary>
/// Takes the seed's input contract (NHWC, 224x224, RGB/255) and hands the backbone NCHW at its internal
/// resolution: a transpose, then an average-pool downscale by an integer factor (1 = none). Doing the
/// downscale inside the graph keeps the exported model's contract identical at every resolution.
/// </summary>
internal sealed class InputAdapter(int downscale) : Layer(nameof(InputAdapter))
{
    public override Tensor forward(Tensor input)
    {
        var nchw = input.permute(0, 3, 1, 2);
        if (downscale == 1)
        {
            return nchw;
        }

        using (nchw)
        {
            return nn.functional.avg_pool2d(nchw, downscale, downscale);
        }
    }

    public override string EmitOnnx(OnnxGraphBuilder graph, string input)
    {
        var nchw = graph.AddNode("Transpose", [input], OnnxGraphBuilder.Ints("perm", 0, 3, 1, 2));
        return downscale == 1
            ? nchw
            : graph.AddNode("AveragePool", [nchw],
                OnnxGraphBuilder.Ints("kernel_shape", downscale, downscale),
                OnnxGraphBuilder.Ints("strides", downscale, downscale));
    }
}
