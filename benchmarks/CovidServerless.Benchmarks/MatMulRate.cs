using CovidServerless.Core.Models;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace CovidServerless.Benchmarks;

/// <summary>This CPU's peak dense matrix-multiply rate through ONNX Runtime with the pipeline's session options: the machine's limit.</summary>
public sealed class MatMulRate : IDisposable
{
    private readonly int size;
    private readonly InferenceSession session;
    private readonly NamedOnnxValue[] inputs;

    public MatMulRate(ModelOptions options, int size)
    {
        this.size = size;
        session = new InferenceSession(Model(size), OnnxSessionFactory.CreateOptions(options, onCuda: false));
        var a = new DenseTensor<float>(Enumerable.Range(0, size * size).Select(i => (i % 97) / 97f).ToArray(), [size, size]);
        inputs = [NamedOnnxValue.CreateFromTensor("a", a)];
    }

    /// <summary>The fastest rate any <see cref="Measure"/> of this probe has seen, in GFLOP/s.</summary>
    public double FastestGflopsPerSecond { get; private set; }

    /// <summary>GFLOP/s of the fastest of <paramref name="runs"/> multiplies, with their timings.</summary>
    public (double GflopsPerSecond, Stats Timing) Measure(int runs, int warmup = 10)
    {
        var timing = Stats.Measure(() => { using var _ = session.Run(inputs); }, runs, warmup);

        // A limit is the best the machine can do: the fastest run, not the median, which other load can inflate.
        var gflops = 2.0 * size * size * size / (timing.MinMs / 1000) / 1e9;
        FastestGflopsPerSecond = Math.Max(FastestGflopsPerSecond, gflops);
        return (gflops, timing);
    }

    public void Dispose() => session.Dispose();

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
