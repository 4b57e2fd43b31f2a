using CovidServerless.Training.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

/// <summary>
/// A TorchSharp module that also knows how to write itself as ONNX nodes. Every architecture is built
/// only from layers, so the one definition both trains (forward) and exports (<see cref="EmitOnnx"/>).
/// </summary>
internal abstract class Layer(string name) : nn.Module<Tensor, Tensor>(name)
{
    /// <summary>Emits nodes computing this layer from the tensor named <paramref name="input"/>; returns the output name.</summary>
    public abstract string EmitOnnx(OnnxGraphBuilder graph, string input);

    /// <summary>Copies a parameter or buffer to a flat float array (row-major, as ONNX expects).</summary>
    protected static float[] ToArray(Tensor tensor)
    {
        using var contiguous = tensor.detach().contiguous().cpu();
        return contiguous.data<float>().ToArray();
    }
}
