using CovidServerless.Training.Architectures;
using Google.Protobuf;
using Onnx;
using static Onnx.TensorProto.Types;

namespace CovidServerless.Training.Onnx;

/// <summary>
/// Writes a <see cref="CovidClassifier"/> as an ONNX model with the seed's contract: input "input", float NHWC
/// [N,224,224,3] (RGB scaled by 1/255, N dynamic); output "probabilities", float [N,2] softmax, index 0 = COVID.
/// The model is put in eval mode first, so batch norm uses its running statistics and dropout is the identity.
/// </summary>
internal static class OnnxExporter
{
    public const string InputName = "input";
    public const string OutputName = "probabilities";
    public const int CovidIndex = 0;
    private const int Opset = 17;
    private const long IrVersion = 8;

    public static byte[] Export(CovidClassifier model, string docString)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.eval();
        var builder = new OnnxGraphBuilder();
        var size = CovidClassifier.InputSize;
        var graph = builder.Graph;
        graph.Input.Add(TensorInfo(InputName, "N", size, size, 3));
        var output = model.EmitOnnx(builder, InputName);
        graph.Node.Add(new NodeProto { OpType = "Identity", Name = OutputName, Input = { output }, Output = { OutputName } });
        graph.Output.Add(TensorInfo(OutputName, "N", CovidClassifier.Classes));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "covidserverless-train",
            ProducerVersion = "1.0",
            DocString = docString,
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        CamHead.Add(proto, CovidIndex);
        return proto.ToByteArray();
    }

    /// <summary>A float tensor's declared type; the first dimension is symbolic (the batch).</summary>
    private static ValueInfoProto TensorInfo(string name, string batchDim, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batchDim });
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } },
        };
    }
}
