using Google.Protobuf;
using Onnx;
using static Onnx.AttributeProto.Types;
using static Onnx.TensorProto.Types;

namespace CovidServerless.Training.Onnx;

/// <summary>
/// Accumulates ONNX nodes and initializers while layers emit themselves; hands out unique names so
/// every layer can name its outputs and weights without knowing about the others.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly Dictionary<string, int> counters = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new() { Name = "covidserverless" };

    public string UniqueName(string stem)
    {
        var n = counters.TryGetValue(stem, out var seen) ? seen + 1 : 0;
        counters[stem] = n;
        return $"{stem}_{n}";
    }

    /// <summary>Adds a float initializer (a weight) and returns its name.</summary>
    public string AddInitializer(string stem, ReadOnlySpan<float> values, params long[] dims)
    {
        var name = UniqueName(stem);
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds one node with a single output named after the op; returns that output's name.</summary>
    public string AddNode(string opType, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var output = UniqueName(opType.ToLowerInvariant());
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
