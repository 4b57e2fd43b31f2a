using CovidServerless.Benchmarks;
using CovidServerless.Core.Models;
using Google.Protobuf;
using Onnx;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>The FLOP count behind the bench's machine limit, on graphs shaped the way other exporters write them.</summary>
public sealed class OnnxFlopsTests : IDisposable
{
    private readonly string file = Path.Combine(Path.GetTempPath(), $"covidscan-flops-{Guid.NewGuid():N}.onnx");

    [Fact]
    public void A_convolution_over_dynamic_spatial_dimensions_is_counted_at_the_manifests_image_size()
    {
        // [N, 3, ?, ?] -> 3x3 convolution to 4 channels, padded: 8x8 outputs of 3x3x3 multiply-adds each.
        var graph = new GraphProto { Name = "conv" };
        graph.Input.Add(Value("x", ["N", 3L, "H", "W"]));
        graph.Initializer.Add(new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 4, 3, 3, 3 }, FloatData = { new float[4 * 3 * 3 * 3] } });
        var conv = Node("Conv", ["x", "w"], "y");
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        graph.Node.Add(conv);
        graph.Output.Add(Value("y", ["N", 4L, "H", "W"]));
        Save(graph);

        var flops = OnnxFlops.PerImage(file, new ModelInputSpec { Layout = TensorLayout.NCHW, Width = 8, Height = 8 });

        Assert.Equal(2.0 * 4 * 8 * 8 * 3 * 3 * 3, flops);
    }

    [Fact]
    public void A_reshape_whose_shape_is_stored_as_raw_bytes_feeds_the_matmul_after_it()
    {
        // NHWC [N, 2, 2, 3] -> Reshape to [-1, 12] (shape in raw_data, as most exporters write it) -> MatMul by [12, 5].
        var graph = new GraphProto { Name = "reshape" };
        graph.Input.Add(Value("x", ["N", 2L, 2L, 3L]));
        graph.Initializer.Add(new TensorProto
        {
            Name = "shape",
            DataType = (int)TensorProto.Types.DataType.Int64,
            Dims = { 2 },
            RawData = ByteString.CopyFrom([.. BitConverter.GetBytes(-1L), .. BitConverter.GetBytes(12L)]),
        });
        graph.Initializer.Add(new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 12, 5 }, FloatData = { new float[60] } });
        graph.Node.Add(Node("Reshape", ["x", "shape"], "flat"));
        graph.Node.Add(Node("MatMul", ["flat", "w"], "y"));
        graph.Output.Add(Value("y", ["N", 5L]));
        Save(graph);

        var flops = OnnxFlops.PerImage(file, new ModelInputSpec { Width = 2, Height = 2 });

        Assert.Equal(2.0 * 12 * 5, flops);
    }

    public void Dispose() => File.Delete(file);

    private void Save(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        File.WriteAllBytes(file, model.ToByteArray());
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    /// <summary>A float tensor whose dimensions are numbers (fixed) or names (dynamic).</summary>
    private static ValueInfoProto Value(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim is long size ? new TensorShapeProto.Types.Dimension { DimValue = size } : new TensorShapeProto.Types.Dimension { DimParam = (string)dim });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }
}
