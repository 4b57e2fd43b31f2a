using CovidServerless.Training.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CovidServerless.Training.Layers;

/// <summary>Layers applied one after the other.</summary>
internal sealed class Sequence : Layer
{
    private readonly ModuleList<Layer> layers;

    public Sequence(params Layer[] layers)
        : base(nameof(Sequence))
    {
        this.layers = nn.ModuleList(layers);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = input;
        foreach (var layer in layers)
        {
            var next = layer.forward(x);
            if (!ReferenceEquals(x, input) && !ReferenceEquals(x, next))
            {
                x.Dispose(); // intermediate activations are not needed once consumed
            }

            x = next;
        }

        return x;
    }

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) =>
        layers.Aggregate(input, (x, layer) => layer.EmitOnnx(graph, x));
}

/// <summary>main(x) + shortcut(x); the shortcut is the identity when null (ResNet, Xception).</summary>
internal sealed class Residual : Layer
{
    private readonly Layer main;
    private readonly Layer? shortcut;

    public Residual(Layer main, Layer? shortcut = null)
        : base(nameof(Residual))
    {
        this.main = main;
        this.shortcut = shortcut;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var m = main.forward(input);
        if (shortcut is null)
        {
            return m + input;
        }

        using var s = shortcut.forward(input);
        return m + s;
    }

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) =>
        graph.AddNode("Add", [main.EmitOnnx(graph, input), shortcut?.EmitOnnx(graph, input) ?? input]);
}

/// <summary>Parallel branches concatenated along channels (Inception modules).</summary>
internal sealed class Concat : Layer
{
    private readonly ModuleList<Layer> branches;

    public Concat(params Layer[] branches)
        : base(nameof(Concat))
    {
        this.branches = nn.ModuleList(branches);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var outputs = branches.Select(b => b.forward(input)).ToArray();
        var result = cat(outputs, 1);
        foreach (var output in outputs)
        {
            output.Dispose();
        }

        return result;
    }

    public override string EmitOnnx(OnnxGraphBuilder graph, string input) =>
        graph.AddNode("Concat", branches.Select(b => b.EmitOnnx(graph, input)).ToArray(), OnnxGraphBuilder.Int("axis", 1));
}
