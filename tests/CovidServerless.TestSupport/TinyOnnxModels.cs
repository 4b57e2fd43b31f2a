using CovidServerless.Core.Models;
using Google.Protobuf;
using Onnx;

namespace CovidServerless.TestSupport;

/// <summary>
/// Small ONNX models built in code with known outputs: pCovid = sigmoid(Weight * mean(input tensor) + Bias).
/// A uniform grey image of level v under the seed's 1/255 scaling therefore gives sigmoid(Weight * v / 255 + Bias),
/// which lets tests check preprocessing, routing and the ensemble exactly.
/// </summary>
public static class TinyOnnxModels
{
    public static double ExpectedPCovid(double weight, double bias, double meanInput) =>
        1.0 / (1.0 + Math.Exp(-((weight * meanInput) + bias)));

    /// <param name="fixedBatch">A fixed first dimension instead of the usual dynamic one.</param>
    /// <param name="convolutionalHead">Probabilities shaped [N, 2, 1, 1], as a fully convolutional head leaves them.</param>
    /// <param name="heatmapName">
    /// Also a [N, 4, 4] map output of this name: Weight times the mean input of each of 4 x 4 equal regions (its mean
    /// plus Bias is the logit, as a class-activation map's sum plus bias is). Needs a height and width divisible by 4.
    /// </param>
    public static byte[] MeanIntensity(
        float weight,
        float bias,
        ModelInputSpec? spec = null,
        OutputKind kind = OutputKind.Probabilities,
        string outputName = "probabilities",
        long? fixedBatch = null,
        bool convolutionalHead = false,
        string? heatmapName = null)
    {
        spec ??= new ModelInputSpec();
        long[] dims = spec.Layout == TensorLayout.NHWC
            ? [spec.Height, spec.Width, spec.Channels]
            : [spec.Channels, spec.Height, spec.Width];
        var logitsName = kind == OutputKind.Logits ? outputName : "logits";

        var graph = new GraphProto { Name = "mean_intensity" };
        graph.Input.Add(TensorValue(spec.Name, dims, fixedBatch));
        graph.Output.Add(TensorValue(outputName, convolutionalHead ? [2, 1, 1] : [2], fixedBatch));
        graph.Initializer.Add(Scalar("weight", weight));
        graph.Initializer.Add(Scalar("bias", bias));

        var reduce = Node("ReduceMean", [spec.Name], ["mean"]);
        reduce.Attribute.Add(new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 2, 3 } });
        reduce.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        graph.Node.Add(reduce);
        graph.Node.Add(Node("Unsqueeze", ["mean", "one_axis"], ["mean_column"]));
        graph.Initializer.Add(new TensorProto { Name = "one_axis", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { 1 } });
        graph.Node.Add(Node("Mul", ["mean_column", "weight"], ["scaled"]));
        graph.Node.Add(Node("Add", ["scaled", "bias"], ["z"]));
        graph.Node.Add(Node("Sub", ["z", "z"], ["zero"]));

        // [z, 0] through softmax gives [sigmoid(z), 1 - sigmoid(z)]: index 0 is COVID, as in the seed's models.
        var concat = Node("Concat", ["z", "zero"], [logitsName]);
        concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(concat);
        var headName = convolutionalHead ? "flat_head" : outputName;
        if (kind == OutputKind.Probabilities)
        {
            var softmax = Node("Softmax", [logitsName], [headName]);
            softmax.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(softmax);
        }

        if (convolutionalHead)
        {
            graph.Node.Add(Node("Unsqueeze", [headName, "spatial_axes"], [outputName]));
            graph.Initializer.Add(new TensorProto { Name = "spatial_axes", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 }, Int64Data = { 2, 3 } });
        }

        if (heatmapName is not null)
        {
            AddRegionMap(graph, spec, heatmapName, fixedBatch);
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "CovidServerless.TestSupport", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model.ToByteArray();
    }

    public const int MapGrid = 4;

    private static void AddRegionMap(GraphProto graph, ModelInputSpec spec, string name, long? fixedBatch)
    {
        if (spec.Height % MapGrid != 0 || spec.Width % MapGrid != 0)
        {
            throw new ArgumentException($"A map needs a height and width divisible by {MapGrid}.", nameof(spec));
        }

        long[] regions = spec.Layout == TensorLayout.NHWC
            ? [-1, MapGrid, spec.Height / MapGrid, MapGrid, spec.Width / MapGrid, spec.Channels]
            : [-1, spec.Channels, MapGrid, spec.Height / MapGrid, MapGrid, spec.Width / MapGrid];
        long[] within = spec.Layout == TensorLayout.NHWC ? [2, 4, 5] : [1, 3, 5];
        graph.Initializer.Add(new TensorProto { Name = "region_shape", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { regions.Length }, Int64Data = { regions } });
        graph.Node.Add(Node("Reshape", [spec.Name, "region_shape"], ["regions"]));
        var reduce = Node("ReduceMean", ["regions"], ["region_means"]);
        reduce.Attribute.Add(new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { within } });
        reduce.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        graph.Node.Add(reduce);
        graph.Node.Add(Node("Mul", ["region_means", "weight"], [name]));
        graph.Output.Add(TensorValue(name, [MapGrid, MapGrid], fixedBatch));
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static TensorProto Scalar(string name, float value) =>
        new() { Name = name, DataType = (int)TensorProto.Types.DataType.Float, FloatData = { value } };

    private static ValueInfoProto TensorValue(string name, long[] dims, long? fixedBatch)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(fixedBatch is { } batch
            ? new TensorShapeProto.Types.Dimension { DimValue = batch }
            : new TensorShapeProto.Types.Dimension { DimParam = "N" });

        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
