using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static Onnx.AttributeProto.Types;
using static Onnx.TensorProto.Types;

namespace CovidServerless.Training.Onnx;

/// <summary>
/// Adds the class-activation map to a model whose head is global average pooling -> Flatten -> Gemm (-> Softmax):
/// output <see cref="OutputName"/> [N, h, w] holds, per location of the last feature maps F, (W_covid - W_other) . F(x,y)
/// / (h*w). With a pooling head that is an exact split of the logit difference: the map summed plus the bias difference
/// (stored in the model's metadata under <see cref="BiasMetadataKey"/>) equals logit_covid - logit_other. The added nodes
/// only read F, so the existing outputs are computed exactly as before.
/// </summary>
internal static class CamHead
{
    public const string OutputName = "covid_cam";
    public const string BiasMetadataKey = "covid_cam_bias";
    public const string WeightName = Prefix + "weight";
    private const string Prefix = "covid_cam_";

    /// <summary>Parses an ONNX model, adds the map (see <see cref="Add"/>) and serialises it again.</summary>
    public static byte[] Rewrite(byte[] model, int covidIndex)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        Add(proto, covidIndex);
        return proto.ToByteArray();
    }

    /// <summary>
    /// Finds the pooling head in the graph (a GlobalAveragePool, or a ReduceMean over axes 2 and 3, whose result reaches a
    /// 2-class Gemm through Flatten/Reshape/Identity only), adds the map's nodes and output, and records the bias
    /// difference. Throws when the graph has no such head or already has the output.
    /// </summary>
    public static void Add(ModelProto model, int covidIndex)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        if (graph.Output.Any(o => o.Name == OutputName))
        {
            throw new InvalidOperationException($"the model already has an output '{OutputName}'.");
        }

        var (features, gemm) = FindHead(graph);
        var (weightDiff, biasDiff) = ClassDifference(graph, gemm, covidIndex);

        var channels = weightDiff.Length;
        var weight = new TensorProto { Name = WeightName, DataType = (int)DataType.Float };
        weight.Dims.AddRange([1, channels, 1, 1]);
        weight.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(weightDiff.AsSpan()));
        graph.Initializer.Add(weight);
        graph.Initializer.Add(Int64s(Prefix + "spatial_start", 2));
        graph.Initializer.Add(Int64s(Prefix + "spatial_end", 4));
        graph.Initializer.Add(Int64s(Prefix + "channel_axis", 1));

        // Conv 1x1 with the weight difference: per location (W0 - W1) . F(x,y); then / (h*w), read from F's shape at run
        // time so the graph holds no assumption about the feature maps' size.
        Node(graph, "Conv", [features, weight.Name], Prefix + "sum");
        Node(graph, "Shape", [features], Prefix + "shape");
        Node(graph, "Slice", [Prefix + "shape", Prefix + "spatial_start", Prefix + "spatial_end"], Prefix + "hw");
        Node(graph, "ReduceProd", [Prefix + "hw"], Prefix + "area_int", new AttributeProto { Name = "keepdims", Type = AttributeType.Int, I = 0 });
        Node(graph, "Cast", [Prefix + "area_int"], Prefix + "area", new AttributeProto { Name = "to", Type = AttributeType.Int, I = (int)DataType.Float });
        Node(graph, "Div", [Prefix + "sum", Prefix + "area"], Prefix + "map");
        Node(graph, "Squeeze", [Prefix + "map", Prefix + "channel_axis"], OutputName);

        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "h" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "w" });
        graph.Output.Add(new ValueInfoProto
        {
            Name = OutputName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } },
        });
        model.MetadataProps.Add(new StringStringEntryProto { Key = BiasMetadataKey, Value = biasDiff.ToString("R", CultureInfo.InvariantCulture) });
    }

    /// <summary>The model without what <see cref="Add"/> added: the graph as it was, to measure what the map costs.</summary>
    public static byte[] Remove(byte[] model)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        foreach (var node in graph.Node.Where(n => n.Output.Any(o => o == OutputName || o.StartsWith(Prefix, StringComparison.Ordinal))).ToList())
        {
            graph.Node.Remove(node);
        }

        foreach (var initializer in graph.Initializer.Where(i => i.Name.StartsWith(Prefix, StringComparison.Ordinal)).ToList())
        {
            graph.Initializer.Remove(initializer);
        }

        foreach (var output in graph.Output.Where(o => o.Name == OutputName).ToList())
        {
            graph.Output.Remove(output);
        }

        foreach (var entry in proto.MetadataProps.Where(e => e.Key == BiasMetadataKey).ToList())
        {
            proto.MetadataProps.Remove(entry);
        }

        return proto.ToByteArray();
    }

    private static (string Features, NodeProto Gemm) FindHead(GraphProto graph)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producer[output] = node;
            }
        }

        var gemms = graph.Node.Where(n => n.OpType is "Gemm" or "MatMul").ToList();
        foreach (var gemm in gemms)
        {
            var node = producer.GetValueOrDefault(gemm.Input[0]);
            while (node is { OpType: "Flatten" or "Reshape" or "Identity" or "Dropout" })
            {
                node = producer.GetValueOrDefault(node.Input[0]);
            }

            if (node is { OpType: "GlobalAveragePool" } || (node is { OpType: "ReduceMean" } && ReducesSpatialAxes(node)))
            {
                if (gemm.OpType != "Gemm")
                {
                    throw new InvalidOperationException("the pooling head ends in MatMul; only a Gemm head (weight and bias) is supported.");
                }

                return (node.Input[0], gemm);
            }
        }

        throw new InvalidOperationException("no global-average-pooling head (GlobalAveragePool or ReduceMean over H,W feeding a Gemm) was found.");
    }

    private static bool ReducesSpatialAxes(NodeProto node)
    {
        var axes = node.Attribute.FirstOrDefault(a => a.Name == "axes")?.Ints;
        return axes is not null && axes.Order().SequenceEqual([2L, 3L]);
    }

    private static (float[] WeightDiff, float BiasDiff) ClassDifference(GraphProto graph, NodeProto gemm, int covidIndex)
    {
        if (gemm.Input.Count < 3)
        {
            throw new InvalidOperationException("the head's Gemm has no bias.");
        }

        var attributes = gemm.Attribute.ToDictionary(a => a.Name, StringComparer.Ordinal);
        if (attributes.TryGetValue("transA", out var transA) && transA.I != 0)
        {
            throw new InvalidOperationException("the head's Gemm transposes its input; not supported.");
        }

        var alpha = attributes.TryGetValue("alpha", out var a) ? a.F : 1f;
        var beta = attributes.TryGetValue("beta", out var b) ? b.F : 1f;
        var transB = attributes.TryGetValue("transB", out var t) && t.I != 0;
        var (w, wDims) = Initializer(graph, gemm.Input[1]);
        var (bias, _) = Initializer(graph, gemm.Input[2]);
        if (wDims.Length != 2)
        {
            throw new InvalidOperationException("the head's Gemm weight is not a matrix.");
        }

        // Rows are classes when transB (Y = X W^T), columns otherwise.
        var (classes, channels) = transB ? ((int)wDims[0], (int)wDims[1]) : ((int)wDims[1], (int)wDims[0]);
        if (classes != 2 || bias.Length != 2 || covidIndex is < 0 or > 1)
        {
            throw new InvalidOperationException($"the head has {classes} classes; the map is defined for two (COVID index {covidIndex}).");
        }

        var other = 1 - covidIndex;
        float Weight(int k, int c) => transB ? w[(k * channels) + c] : w[(c * classes) + k];
        var diff = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            diff[c] = alpha * (Weight(covidIndex, c) - Weight(other, c));
        }

        return (diff, beta * (bias[covidIndex] - bias[other]));
    }

    private static (float[] Values, long[] Dims) Initializer(GraphProto graph, string name)
    {
        var tensor = graph.Initializer.FirstOrDefault(i => i.Name == name)
            ?? throw new InvalidOperationException($"the head's weight '{name}' is not a constant initializer.");
        if (tensor.DataType != (int)DataType.Float)
        {
            throw new InvalidOperationException($"the head's weight '{name}' is not float.");
        }

        var values = tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : [.. tensor.FloatData];
        return (values, [.. tensor.Dims]);
    }

    private static TensorProto Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return tensor;
    }

    private static void Node(GraphProto graph, string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
    }
}
