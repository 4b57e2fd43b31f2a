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
    public static byte[] MeanIntensity(
        float weight,
        float bias,
        ModelInputSpec? spec = null,
        OutputKind kind = OutputKind.Probabilities,
        string outputName = "probabilities",
        long? fixedBatch = null,
        bool convolutionalHead = false)
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

        var model = new ModelProto { IrVersion = 8, ProducerName = "CovidServerless.TestSupport", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model.ToByteArray();
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
