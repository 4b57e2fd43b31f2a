using CovidServerless.Core.Models;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace CovidServerless.Benchmarks;

/// <summary>This CPU's peak dense matrix-multiply rate through ONNX Runtime with the pipeline's session options: the machine's limit.</summary>
public static class MatMulRate
{
    public static (double GflopsPerSecond, Stats Timing) Measure(ModelOptions options, int size, int runs)
    {
        using var session = new InferenceSession(Model(size), OnnxSessionFactory.CreateOptions(options, NullLogger.Instance));
        var a = new DenseTensor<float>(Enumerable.Range(0, size * size).Select(i => (i % 97) / 97f).ToArray(), [size, size]);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor("a", a) };
        var timing = Stats.Measure(() => { using var _ = session.Run(inputs); }, runs * 2, warmup: 10);

        // A limit is the best the machine can do: the fastest run, not the median, which other load can inflate.
        return (2.0 * size * size * size / (timing.MinMs / 1000) / 1e9, timing);
    }

    private static byte[] Model(int size)
    {
        var graph = new GraphProto { Name = "matmul" };
        graph.Input.Add(Value("a", size));
        graph.Output.Add(Value("c", size));
        var b = new TensorProto { Name = "b", DataType = (int)TensorProto.Types.DataType.Float, Dims = { size, size } };
        b.FloatData.AddRange(Enumerable.Range(0, size * size).Select(i => (i % 89) / 89f));
        graph.Initializer.Add(b);
        var node = new NodeProto { OpType = "MatMul", Name = "mm" };
        node.Input.AddRange(["a", "b"]);
        node.Output.Add("c");
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model.ToByteArray();
    }

    private static ValueInfoProto Value(string name, int size) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Float,
                Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = size }, new TensorShapeProto.Types.Dimension { DimValue = size } } },
            },
        },
    };
}
